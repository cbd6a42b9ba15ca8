package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestFastPathStream (D49): a stream of fast-path deployments opens no
// attempt ext_proc stream, and the client gets what the attempt filter made
// of it (D16): every chunk's top-level model restamped with the requested
// name, the usage chunk the gateway asked for stripped (with every chunk's
// "usage": null) when the client did not ask, kept when it did; the
// outcome (usage, success) reaches the callbacks through the outcome log.
func TestFastPathStream(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	hook := &collector{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	g := startExtProcGateway(t, fmt.Sprintf(`
model_list:
  - model_name: fast
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/a/v1, api_key: sk-a}
    model_info: {id: fast-a, input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: fast
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/b/v1, api_key: sk-b}
    model_info: {id: fast-b, input_cost_per_token: 0.001, output_cost_per_token: 0.002}
router_settings:
  num_retries: 1
litellm_settings:
  callbacks: ["generic_api"]
general_settings:
  master_key: %[2]s
`, fake.URL(), master),
		"GENERIC_LOGGER_ENDPOINT="+hookSrv.URL+"/log", "DEFAULT_FLUSH_INTERVAL_SECONDS=0.2")

	type usage struct{ prompt, completion float64 }
	stream := func(includeUsage bool) (string, usage) {
		t.Helper()
		extra := `"stream":true`
		if includeUsage {
			extra += `,"stream_options":{"include_usage":true}`
		}
		fake.Reset()
		code, h, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("fast", "stream me", extra))
		if code != 200 {
			t.Fatalf("status %d: %s", code, b)
		}
		if id := h.Get("x-litellm-model-id"); id != "fast-a" && id != "fast-b" {
			t.Errorf("x-litellm-model-id = %q", id)
		}
		for k := range h {
			if strings.HasPrefix(strings.ToLower(k), "x-envoy-attempt") || strings.HasPrefix(strings.ToLower(k), "x-llmgate") {
				t.Errorf("internal header %s reached the client", k)
			}
		}
		rec, ok := fake.Last()
		if !ok {
			t.Fatal("no upstream request")
		}
		var sent struct {
			Model         string `json:"model"`
			StreamOptions struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		_ = json.Unmarshal(rec.Body, &sent)
		if !sent.StreamOptions.IncludeUsage || sent.Model != "gpt-4o-mini" {
			t.Errorf("upstream request: %s", rec.Body)
		}
		evs := sseEvents(b)
		if len(evs) < 3 || evs[len(evs)-1] != "[DONE]" {
			t.Fatalf("stream: %s", b)
		}
		var u usage
		sawUsage := false
		for _, ev := range evs[:len(evs)-1] {
			var c struct {
				Model   string            `json:"model"`
				Choices []json.RawMessage `json:"choices"`
				Usage   *struct {
					Prompt     float64 `json:"prompt_tokens"`
					Completion float64 `json:"completion_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal([]byte(ev), &c); err != nil {
				t.Fatalf("chunk %q: %v", ev, err)
			}
			if c.Model != "fast" {
				t.Errorf("chunk model = %q, want the requested name: %s", c.Model, ev)
			}
			if !includeUsage && strings.Contains(ev, `"usage"`) {
				t.Errorf("client did not ask for usage, got: %s", ev)
			}
			if c.Usage != nil {
				sawUsage = true
				u = usage{c.Usage.Prompt, c.Usage.Completion}
				if len(c.Choices) != 0 {
					t.Errorf("usage on a content chunk: %s", ev)
				}
			}
		}
		if includeUsage && (!sawUsage || u.prompt == 0 || u.completion == 0) {
			t.Errorf("include_usage: no usage chunk in %s", b)
		}
		return h.Get("x-litellm-call-id"), u
	}

	before := extProcStreams(t, g)
	idPlain, _ := stream(false)
	idUsage, u := stream(true)
	if n := extProcStreams(t, g) - before; n != 2 {
		t.Errorf("%d ext_proc streams for 2 streamed requests, want 2 (the request filter's only)", n)
	}

	// The outcome log reports both streams with the provider's usage (the
	// same prompt, so the same usage) and a cost.
	events := map[string]map[string]any{}
	deadline := time.Now().Add(20 * time.Second)
	for len(events) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		bodies, _ := hook.snapshot()
		for _, b := range bodies {
			var batch []map[string]any
			if err := json.Unmarshal(b, &batch); err != nil {
				t.Fatalf("webhook body %s: %v", b, err)
			}
			for _, e := range batch {
				id, _ := e["id"].(string)
				events[id] = e
			}
		}
	}
	for _, id := range []string{idPlain, idUsage} {
		e := events[id]
		if e == nil || e["status"] != "success" || e["model_group"] != "fast" || e["prompt_tokens"] != u.prompt || e["completion_tokens"] != u.completion {
			t.Errorf("call %s: event %v, want success with %v/%v tokens", id, e, u.prompt, u.completion)
			continue
		}
		if cost, _ := e["response_cost"].(float64); cost <= 0 {
			t.Errorf("call %s: response_cost %v", id, e["response_cost"])
		}
	}
}

// TestFastPathStreamEvents (D49): the listener Lua rewrites a stream event
// by event whatever the provider's framing: an event split across writes,
// CRLF line endings, a top-level "model" after a nested one (the nested one
// kept), "usage": null in the middle of a chunk, a "created" of 0 (stamped,
// as the attempt filter does).
func TestFastPathStreamEvents(t *testing.T) {
	events := []string{
		`data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"up","choices":[{"index":0,"delta":{"role":"assistant","content":"he"},"finish_reason":null}],"usage":null}` + "\n\n",
		`data: {"choices":[{"index":0,"delta":{"content":"llo","model":"nested"},"finish_reason":null}],"usage":null,"model":"up","id":"x","created":0}` + "\n\n",
		`data: {"id":"x","model":"up","created":1700000000,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage" : null}` + "\r\n\r\n",
		`data: {"id":"x","model":"up","created":1700000000,"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}` + "\n\n",
		"data: [DONE]\n\n",
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "text/event-stream")
		w.WriteHeader(200)
		f := w.(http.Flusher)
		for _, ev := range events {
			// Every event in two writes: the cut falls inside it.
			half := len(ev) / 2
			_, _ = io.WriteString(w, ev[:half])
			f.Flush()
			time.Sleep(5 * time.Millisecond)
			_, _ = io.WriteString(w, ev[half:])
			f.Flush()
		}
	}))
	defer up.Close()
	g := fastStreamGateway(t, up.URL)
	for _, includeUsage := range []bool{false, true} {
		extra := `"stream":true`
		if includeUsage {
			extra += `,"stream_options":{"include_usage":true}`
		}
		before := extProcStreams(t, g)
		code, _, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("fast", "hi", extra))
		if code != 200 {
			t.Fatalf("status %d: %s", code, b)
		}
		if n := extProcStreams(t, g) - before; n != 1 {
			t.Errorf("include_usage %v: %d ext_proc streams, want 1 (the fast path)", includeUsage, n)
		}
		evs := sseEvents(b)
		want := 4
		if includeUsage {
			want = 5
		}
		if len(evs) != want || evs[len(evs)-1] != "[DONE]" {
			t.Fatalf("include_usage %v: %d events, want %d: %q", includeUsage, len(evs), want, b)
		}
		var content string
		for i, ev := range evs[:len(evs)-1] {
			var c struct {
				Model   string `json:"model"`
				Created int64  `json:"created"`
				Choices []struct {
					Delta map[string]any `json:"delta"`
				} `json:"choices"`
				Usage *struct {
					Prompt     float64 `json:"prompt_tokens"`
					Completion float64 `json:"completion_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal([]byte(ev), &c); err != nil {
				t.Fatalf("chunk %q: %v", ev, err)
			}
			if c.Model != "fast" || c.Created == 0 {
				t.Errorf("chunk %d: model %q created %d: %s", i, c.Model, c.Created, ev)
			}
			if !includeUsage && strings.Contains(ev, `"usage"`) {
				t.Errorf("client did not ask for usage, got: %s", ev)
			}
			for _, ch := range c.Choices {
				s, _ := ch.Delta["content"].(string)
				content += s
			}
			if i == 1 && (len(c.Choices) != 1 || c.Choices[0].Delta["model"] != "nested") {
				t.Errorf("the nested model changed: %s", ev)
			}
			if includeUsage && i == 3 && (c.Usage == nil || c.Usage.Prompt != 7 || c.Usage.Completion != 3) {
				t.Errorf("usage chunk: %s", ev)
			}
		}
		if content != "hello" {
			t.Errorf("content %q, want hello", content)
		}
	}
}

// TestFastPathStreamFallback (D49): a fast-path stream whose first try
// fails falls back as a non-stream does: the failing try's attempt filter
// (at the response) sends it on, the fallback streams with the fallback's
// headers and every chunk carries the requested name (a stream is restamped
// even after a fallback, as the attempt filter does: D16).
func TestFastPathStreamFallback(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startExtProcGateway(t, fmt.Sprintf(`
model_list:
  - model_name: fa
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/fa/v1, api_key: k-fa}
  - model_name: fb
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/fb/v1, api_key: k-fb}
router_settings:
  num_retries: 0
  fallbacks: [{"fa": ["fb"]}]
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/fa/"}, Fault: fakeprovider.Fault{Status: 500, ErrorMessage: "fa is down"}}))
	before := extProcStreams(t, g)
	code, h, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("fa", "hi", `"stream":true`))
	if code != 200 {
		t.Fatalf("stream: %d %s", code, b)
	}
	if n := extProcStreams(t, g) - before; n != 2 {
		t.Errorf("%d ext_proc streams, want 2 (request filter, the failing try's attempt filter)", n)
	}
	for k, want := range map[string]string{"x-litellm-attempted-fallbacks": "1", "x-litellm-model-group": "fb"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	evs := sseEvents(b)
	if len(evs) < 3 || evs[len(evs)-1] != "[DONE]" {
		t.Fatalf("stream: %s", b)
	}
	for _, ev := range evs[:len(evs)-1] {
		var c struct {
			Model string `json:"model"`
		}
		if err := json.Unmarshal([]byte(ev), &c); err != nil || c.Model != "fa" {
			t.Errorf("chunk model %q, want the requested name: %s", c.Model, ev)
		}
		if strings.Contains(ev, `"usage"`) {
			t.Errorf("client did not ask for usage, got: %s", ev)
		}
	}
}

// TestFastPathStreamNotHeld (D49): a fast-path stream reaches the client as
// it is produced — neither the clusters' Lua (which holds a non-stream
// success until its body is whole) nor the listener's holds it: the
// provider sends the rest only after the client has read the first event.
func TestFastPathStreamNotHeld(t *testing.T) {
	first := make(chan struct{})
	released := make(chan bool, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "text/event-stream")
		w.WriteHeader(200)
		f := w.(http.Flusher)
		_, _ = io.WriteString(w, `data: {"id":"x","object":"chat.completion.chunk","created":1700000000,"model":"up","choices":[{"index":0,"delta":{"content":"one"},"finish_reason":null}]}`+"\n\n")
		f.Flush()
		select {
		case <-first:
			released <- true
		case <-time.After(10 * time.Second):
			released <- false
		}
		_, _ = io.WriteString(w, `data: {"id":"x","object":"chat.completion.chunk","created":1700000000,"model":"up","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
		f.Flush()
	}))
	defer up.Close()
	g := fastStreamGateway(t, up.URL)
	before := extProcStreams(t, g)
	req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(chatBody("fast", "hi", `"stream":true`)))
	req.Header.Set("Authorization", "Bearer "+master)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 4096)
	for !strings.Contains(string(buf), "\n\n") {
		n, err := resp.Body.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			break
		}
	}
	close(first)
	if !strings.Contains(string(buf), `"content":"one"`) || !strings.Contains(string(buf), `"model":"fast"`) {
		t.Fatalf("first event: %q", buf)
	}
	if !<-released {
		t.Fatal("the provider's first event did not reach the client before the provider went on: the stream was held")
	}
	rest, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(rest), "[DONE]") {
		t.Errorf("rest of the stream: %q", rest)
	}
	if n := extProcStreams(t, g) - before; n != 1 {
		t.Errorf("%d ext_proc streams, want 1: the stream did not take the fast path", n)
	}
}

// fastStreamGateway serves group "fast": one fast-path deployment on
// upstream, no retries, the master key (ext_proc pinned: the tests count
// its streams).
func fastStreamGateway(t *testing.T, upstream string) *Gateway {
	t.Helper()
	return startExtProcGateway(t, fmt.Sprintf(`
model_list:
  - model_name: fast
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-a}
router_settings:
  num_retries: 0
general_settings:
  master_key: %[2]s
`, upstream, master))
}
