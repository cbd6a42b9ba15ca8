package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestModuleResponseSide (D54): with the request filter in Envoy the
// listener has no Lua filter; the module's response hooks restamp the model,
// rewrite streams, strip the usage chunk the client did not ask for, add the
// x-litellm-* headers of the try that answered and price the answer. Two
// gateways on one deterministic provider, one with the module (no Lua) and
// one with ext_proc (the listener's Lua), get the same requests: every
// answer is the same, byte for byte (status, headers but the per-request
// ids and durations, body), for requests the module served and for one it
// handed on to ext_proc.
func TestModuleResponseSide(t *testing.T) {
	splitEvents := []string{
		`data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"up","choices":[{"index":0,"delta":{"role":"assistant","content":"he"},"finish_reason":null}],"usage":null}` + "\n\n",
		`data: {"choices":[{"index":0,"delta":{"content":"llo","model":"nested"},"finish_reason":null}],"usage":null,"model":"up","id":"x","created":0}` + "\n\n",
		`data: {"id":"x","model":"up","created":1700000000,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage" : null}` + "\r\n\r\n",
		`data: {"id":"x","model":"up","created":1700000000,"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}` + "\n\n",
		"data: [DONE]\n\n",
	}
	usualEvents := []string{
		`data: {"id":"y","object":"chat.completion.chunk","created":1700000000,"model":"up-model","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"usage":null}` + "\n\n",
		`data: {"id":"y","object":"chat.completion.chunk","created":1700000000,"model":"up-model","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}` + "\n\n",
		`data: {"id":"y","object":"chat.completion.chunk","created":1700000000,"model":"up-model","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}` + "\n\n",
		"data: [DONE]\n\n",
	}
	const jsonAnswer = `{"id":"z","object":"chat.completion","created":1700000000,"choices":[{"index":0,"message":{"role":"assistant","content":"say \"model\": \"x\"","model":"nested"},"finish_reason":"stop"}],"model":"up-model","usage":{"prompt_tokens":11,"completion_tokens":5,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":0}}}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		stream := strings.Contains(string(body), `"stream":true`)
		switch {
		case strings.HasPrefix(r.URL.Path, "/down/"):
			w.Header().Set("content-type", "application/json")
			w.WriteHeader(500)
			_, _ = io.WriteString(w, `{"error":{"message":"down","type":"server_error"}}`)
		case stream && strings.HasPrefix(r.URL.Path, "/split/"):
			w.Header().Set("content-type", "text/event-stream")
			w.WriteHeader(200)
			f := w.(http.Flusher)
			for _, ev := range splitEvents {
				half := len(ev) / 2
				_, _ = io.WriteString(w, ev[:half])
				f.Flush()
				time.Sleep(2 * time.Millisecond)
				_, _ = io.WriteString(w, ev[half:])
				f.Flush()
			}
			// (A last event without its blank line is not sent: the Lua
			// rewrote it or dropped it depending on how the chunks fell;
			// extproc TestRespStream covers the module's answer.)
		case stream:
			w.Header().Set("content-type", "text/event-stream")
			w.WriteHeader(200)
			for _, ev := range usualEvents {
				_, _ = io.WriteString(w, ev)
				w.(http.Flusher).Flush()
			}
		case strings.HasPrefix(r.URL.Path, "/chunked/"):
			w.Header().Set("content-type", "application/json")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, jsonAnswer[:40])
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, jsonAnswer[40:])
		default:
			w.Header().Set("content-type", "application/json")
			w.Header().Set("content-length", fmt.Sprint(len(jsonAnswer)))
			_, _ = io.WriteString(w, jsonAnswer)
		}
	}))
	defer up.Close()
	cfg := fmt.Sprintf(`
model_list:
  - model_name: plain
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/plain/v1, api_key: sk-a}
    model_info: {id: plain-dep, input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: chunked
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/chunked/v1, api_key: sk-a}
  - model_name: split
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/split/v1, api_key: sk-a}
  - model_name: down
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/down/v1, api_key: sk-a}
  - model_name: az
    litellm_params: {model: azure/gpt-4o-dep, api_base: %[1]s/plain, api_key: az-secret, api_version: "2024-10-21"}
router_settings:
  num_retries: 0
  fallbacks: [{"down": ["plain"]}]
  model_group_alias: {my-alias: plain}
general_settings:
  master_key: %[2]s
`, up.URL, master)
	mod, ext := moduleAndExtProc(t, cfg)
	if strings.Contains(adminGet(t, mod, "/config_dump"), "local function quick(") {
		t.Errorf("the module's listener still has the response Lua filter")
	}
	if !strings.Contains(adminGet(t, ext, "/config_dump"), "local function quick(") {
		t.Errorf("the ext_proc gateway's listener has no response Lua filter")
	}

	for _, tc := range []struct {
		name, path, body string
		served           bool // the module serves it (else ext_proc, handed on)
		want             string
	}{
		{"json", "/v1/chat/completions", chatBody("plain", "hi"), true, `"model":"plain"`},
		{"json, alias", "/chat/completions", chatBody("my-alias", "hi"), true, `"model":"my-alias"`},
		{"json, azure", "/v1/chat/completions", chatBody("az", "hi"), true, `"model":"az"`},
		{"json, chunked answer", "/v1/chat/completions", chatBody("chunked", "hi"), true, `"model":"chunked"`},
		{"json, fallback", "/v1/chat/completions", chatBody("down", "hi"), true, `"id":"z"`},
		{"json, handed on", "/v1/chat/completions", chatBody("plain", "hi", `"metadata":{"model":"m"}`), false, `"model":"plain"`},
		{"stream", "/v1/chat/completions", chatBody("plain", "hi", `"stream":true`), true, `"model":"plain"`},
		{"stream, include_usage", "/v1/chat/completions", chatBody("plain", "hi", `"stream":true`, `"stream_options":{"include_usage":true}`), true, `"usage":{"prompt_tokens":2`},
		{"stream, split events", "/v1/chat/completions", chatBody("split", "hi", `"stream":true`), true, `"model":"split"`},
		{"stream, split events, include_usage", "/v1/chat/completions", chatBody("split", "hi", `"stream":true`, `"stream_options":{"include_usage":true}`), true, `"total_tokens":10`},
		{"stream, fallback", "/v1/chat/completions", chatBody("down", "hi", `"stream":true`), true, `"model":"down"`},
		{"stream, handed on", "/v1/chat/completions", chatBody("plain", "hi", `"stream":true`, `"metadata":{"model":"m"}`), false, `"model":"plain"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := requestFilterStreams(t, mod)
			ca, ha, ba := postWith(t, mod.URL+tc.path, master, tc.body)
			served := requestFilterStreams(t, mod) == before
			cb, hb, bb := postWith(t, ext.URL+tc.path, master, tc.body)
			if served != tc.served {
				t.Errorf("served by the module = %v, want %v", served, tc.served)
			}
			if ca != 200 || cb != 200 {
				t.Fatalf("status %d with the module, %d without:\n%s\n%s", ca, cb, ba, bb)
			}
			// A created of 0 is stamped with the current second: the two
			// requests may fall in different seconds.
			if stampedNow(ba) != stampedNow(bb) {
				t.Errorf("body with the module:\n%s\nwithout:\n%s", ba, bb)
			}
			if !strings.Contains(string(ba), tc.want) {
				t.Errorf("answer without %s:\n%s", tc.want, ba)
			}
			if sa, sb := comparableHeaders(t, ha), comparableHeaders(t, hb); sa != sb {
				t.Errorf("headers with the module:\n%s\nwithout:\n%s", sa, sb)
			}
		})
	}
}

var createdStamp = regexp.MustCompile(`"created":(\d+)`)

// stampedNow is an answer with every "created" within a minute of now
// written as "created":"now".
func stampedNow(b []byte) string {
	now := time.Now().Unix()
	return createdStamp.ReplaceAllStringFunc(string(b), func(m string) string {
		v, _ := strconv.ParseInt(m[len(`"created":`):], 10, 64)
		if v > now-60 && v < now+60 {
			return `"created":"now"`
		}
		return m
	})
}
