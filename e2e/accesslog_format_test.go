package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestAccessLogNamesTheClientRequest: Envoy's access log names what the
// client asked for — its path (not the provider path the upstream filters
// wrote), the model it asked for and the model group — in the text line and,
// with JSON_LOGS=true (json_logs), as one JSON object per request with the
// call id, deployment cluster, status and attempts. Before, the line showed
// the provider's path and group="-".
func TestAccessLogNamesTheClientRequest(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %s/acc/v1, api_key: sk-fake}
router_settings:
  model_group_alias: {my-alias: gpt-x}
general_settings:
  master_key: %s
`, fake.URL(), master)
	body := `{"model":"my-alias","messages":[{"role":"user","content":"hi"}]}`
	for _, mode := range []string{"text", "json"} {
		t.Run(mode, func(t *testing.T) {
			var env []string
			if mode == "json" {
				env = append(env, "JSON_LOGS=true")
			}
			g := startGateway(t, cfg, env...)
			code, h, b := post(t, g.URL+"/v1/chat/completions?debug=1", master, body)
			if code != 200 {
				t.Fatalf("chat: %d %s", code, b)
			}
			if rec, _ := fake.Last(); rec.Path != "/acc/v1/chat/completions" {
				t.Fatalf("provider path %q", rec.Path)
			}
			callID := h.Get("x-litellm-call-id")
			resp, err := http.Get(g.URL + "/health/liveliness")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var chat, health string
			for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && (chat == "" || health == ""); time.Sleep(100 * time.Millisecond) {
				for _, l := range strings.Split(g.Stdout(), "\n") {
					switch {
					case callID != "" && strings.Contains(l, callID):
						chat = l
					case strings.Contains(l, "/health/liveliness"):
						health = l
					}
				}
			}
			if mode == "text" {
				if !strings.Contains(chat, `"POST /v1/chat/completions HTTP/1.1" 200`) || !strings.Contains(chat, `model="my-alias" group="gpt-x"`) ||
					!strings.Contains(chat, "cluster=dep_") || strings.Contains(chat, "/acc/") || strings.Contains(chat, "debug=1") {
					t.Errorf("chat line: %q", chat)
				}
				if !strings.Contains(health, `"GET /health/liveliness HTTP/1.1" 200`) {
					t.Errorf("health line: %q", health)
				}
				return
			}
			var c, hl map[string]any
			if err := json.Unmarshal([]byte(chat), &c); err != nil {
				t.Fatalf("chat line is not JSON: %q: %v", chat, err)
			}
			if err := json.Unmarshal([]byte(health), &hl); err != nil {
				t.Fatalf("health line is not JSON: %q: %v", health, err)
			}
			want := map[string]any{"method": "POST", "path": "/v1/chat/completions", "model": "my-alias", "model_group": "gpt-x", "call_id": callID}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("chat %s = %v, want %v (line %s)", k, c[k], v, chat)
				}
			}
			if fmt.Sprint(c["status"]) != "200" || fmt.Sprint(c["attempts"]) != "1" || !strings.HasPrefix(fmt.Sprint(c["cluster"]), "dep_") {
				t.Errorf("chat status/attempts/cluster: %s", chat)
			}
			// The answer's tokens as the client got them: the module served
			// the request (one deployment: not on the fast path, the try's
			// attempt filter reads the answer), and the listener's log must
			// carry them (D87).
			var ans struct {
				Usage struct {
					Prompt     int `json:"prompt_tokens"`
					Completion int `json:"completion_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal(b, &ans); err != nil || ans.Usage.Prompt == 0 || ans.Usage.Completion == 0 {
				t.Fatalf("answer's usage: %s (%v)", b, err)
			}
			if fmt.Sprint(c["prompt_tokens"]) != fmt.Sprint(ans.Usage.Prompt) || fmt.Sprint(c["completion_tokens"]) != fmt.Sprint(ans.Usage.Completion) {
				t.Errorf("chat tokens %v/%v, want %d/%d (line %s)", c["prompt_tokens"], c["completion_tokens"], ans.Usage.Prompt, ans.Usage.Completion, chat)
			}
			if hl["path"] != "/health/liveliness" || fmt.Sprint(hl["status"]) != "200" {
				t.Errorf("health line: %s", health)
			}
			// A streamed answer, also without an answer plan: the tokens of
			// its usage chunk (D93: null in ≈ 1 run in 2 before, when the
			// listener's log came before the attempt filter's metadata).
			code, h, b = post(t, g.URL+"/v1/chat/completions", master,
				`{"model":"my-alias","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
			if code != 200 {
				t.Fatalf("stream: %d %s", code, b)
			}
			var su struct {
				Usage *struct {
					Prompt     int `json:"prompt_tokens"`
					Completion int `json:"completion_tokens"`
				} `json:"usage"`
			}
			for _, ev := range sseEvents(b) {
				var c struct {
					Usage *struct {
						Prompt     int `json:"prompt_tokens"`
						Completion int `json:"completion_tokens"`
					} `json:"usage"`
				}
				if json.Unmarshal([]byte(ev), &c) == nil && c.Usage != nil {
					su = c
				}
			}
			if su.Usage == nil || su.Usage.Prompt == 0 || su.Usage.Completion == 0 {
				t.Fatalf("stream's usage chunk: %s", b)
			}
			streamID, line := h.Get("x-litellm-call-id"), ""
			for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && line == ""; time.Sleep(100 * time.Millisecond) {
				for _, l := range strings.Split(g.Stdout(), "\n") {
					if streamID != "" && strings.Contains(l, streamID) {
						line = l
					}
				}
			}
			var sl map[string]any
			if err := json.Unmarshal([]byte(line), &sl); err != nil {
				t.Fatalf("stream line is not JSON: %q: %v", line, err)
			}
			if fmt.Sprint(sl["prompt_tokens"]) != fmt.Sprint(su.Usage.Prompt) || fmt.Sprint(sl["completion_tokens"]) != fmt.Sprint(su.Usage.Completion) {
				t.Errorf("stream tokens %v/%v, want %d/%d (line %s)", sl["prompt_tokens"], sl["completion_tokens"], su.Usage.Prompt, su.Usage.Completion, line)
			}
		})
	}
}
