package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestModuleTranslated (D61): in module mode the module translates the
// tries of Anthropic deployments itself (request, JSON answer, SSE stream),
// so a successful translated request opens no ext_proc stream at all; an
// Anthropic error still meets the attempt filter (from the response
// headers on) and falls back. Two gateways on one deterministic Anthropic
// provider — the module's and an ext_proc one, where the attempt filter
// translates every try — give the same answers byte for byte (status,
// headers but per-request ids and durations, body); the provider gets its
// key in x-api-key, anthropic-version, the Messages API body, and no
// internal or client key header; no key is in Envoy's config dump; the
// outcome (tokens) reaches /metrics; the official OpenAI SDK reads both.
func TestModuleTranslated(t *testing.T) {
	const (
		msgJSON = `{"id":"msg_mt1","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":"hello from claude"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":4}}`
		errJSON = `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
	)
	events := []string{
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_mt2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-3-5-haiku-20241022\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
		"event: ping\ndata: {\"type\":\"ping\"}\n\n",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hel\"}}\n\n",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\n",
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}\n\n",
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	}
	type seen struct {
		path, key, version, body string
		bad                      []string
	}
	var (
		mu   sync.Mutex
		got  []seen
		down int
	)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s := seen{path: r.URL.Path, key: r.Header.Get("x-api-key"), version: r.Header.Get("anthropic-version"), body: string(body)}
		for k := range r.Header {
			lk := strings.ToLower(k)
			if strings.HasPrefix(lk, "x-llmgate") || lk == "authorization" || lk == "x-envoy-attempt-count" {
				s.bad = append(s.bad, lk)
			}
		}
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/down/"):
			mu.Lock()
			down++
			mu.Unlock()
			w.Header().Set("content-type", "application/json")
			w.WriteHeader(529)
			_, _ = io.WriteString(w, errJSON)
		case strings.Contains(string(body), `"stream":true`):
			w.Header().Set("content-type", "text/event-stream")
			w.WriteHeader(200)
			f := w.(http.Flusher)
			for i, ev := range events {
				if i%3 == 1 { // some events split across writes
					_, _ = io.WriteString(w, ev[:len(ev)/2])
					f.Flush()
					time.Sleep(time.Millisecond)
					ev = ev[len(ev)/2:]
				}
				_, _ = io.WriteString(w, ev)
				f.Flush()
			}
		default:
			w.Header().Set("content-type", "application/json")
			w.Header().Set("content-length", fmt.Sprint(len(msgJSON)))
			_, _ = io.WriteString(w, msgJSON)
		}
	}))
	defer up.Close()
	cfg := fmt.Sprintf(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/a, api_key: sk-ant-mt-a}
    model_info: {id: claude-a}
  - model_name: claude-down
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/down, api_key: sk-ant-mt-down}
    model_info: {id: claude-down-dep}
  - model_name: claude-b
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/b, api_key: sk-ant-mt-b}
    model_info: {id: claude-b-dep}
  - model_name: pair
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/down, api_key: sk-ant-mt-down}
  - model_name: pair
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/b, api_key: sk-ant-mt-b}
router_settings:
  num_retries: 0
  allowed_fails: 1000
  fallbacks: [{"claude-down": ["claude-b"]}]
  model_group_alias: {my-claude: claude}
litellm_settings:
  callbacks: ["prometheus"]
general_settings:
  master_key: %[2]s
`, up.URL, master)
	mod, ext := moduleAndExtProc(t, cfg)

	var prompt, completion float64
	for _, tc := range []struct {
		name, body string
		attempt    int // the module's attempt-filter streams (failing tries)
		want       string
		tokens     [2]float64
	}{
		{"json", chatBody("claude", "hi"), 0, `"content":"hello from claude"`, [2]float64{12, 4}},
		{"json, alias", chatBody("my-claude", "hi"), 0, `"model":"my-claude"`, [2]float64{12, 4}},
		{"json, fallback after an Anthropic error", chatBody("claude-down", "hi"), 1, `"content":"hello from claude"`, [2]float64{12, 4}},
		{"stream", chatBody("claude", "hi", `"stream":true`), 0, `"content":"lo"`, [2]float64{9, 5}},
		{"stream, include_usage", chatBody("claude", "hi", `"stream":true`, `"stream_options":{"include_usage":true}`), 0, `"usage":{"prompt_tokens":9,"completion_tokens":5`, [2]float64{9, 5}},
		{"stream, fallback", chatBody("claude-down", "hi", `"stream":true`), 1, `"model":"claude-down"`, [2]float64{9, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r0, a0 := streamsByFilter(t, mod)
			mu.Lock()
			got = nil
			mu.Unlock()
			ca, ha, ba := postWith(t, mod.URL+"/v1/chat/completions", master, tc.body)
			r1, a1 := streamsByFilter(t, mod)
			mu.Lock()
			calls := append([]seen(nil), got...)
			mu.Unlock()
			cb, hb, bb := postWith(t, ext.URL+"/v1/chat/completions", master, tc.body)
			if ca != 200 || cb != 200 {
				t.Fatalf("status %d with the module, %d with ext_proc:\n%s\n%s", ca, cb, ba, bb)
			}
			prompt, completion = prompt+tc.tokens[0], completion+tc.tokens[1]
			if r1 != r0 || a1-a0 != tc.attempt {
				t.Errorf("ext_proc streams opened: request filter %d, attempt filter %d; want 0 and %d", r1-r0, a1-a0, tc.attempt)
			}
			if stampedNow(ba) != stampedNow(bb) {
				t.Errorf("body with the module:\n%s\nwith ext_proc:\n%s", ba, bb)
			}
			if !strings.Contains(string(ba), tc.want) {
				t.Errorf("answer without %s:\n%s", tc.want, ba)
			}
			if sa, sb := comparableHeaders(t, ha), comparableHeaders(t, hb); sa != sb {
				t.Errorf("headers with the module:\n%s\nwith ext_proc:\n%s", sa, sb)
			}
			if len(calls) != 1+tc.attempt {
				t.Fatalf("provider calls %+v", calls)
			}
			for _, c := range calls {
				want := "sk-ant-mt-a"
				switch {
				case strings.HasPrefix(c.path, "/down/"):
					want = "sk-ant-mt-down"
				case strings.HasPrefix(c.path, "/b/"):
					want = "sk-ant-mt-b"
				}
				if !strings.HasSuffix(c.path, "/v1/messages") || c.key != want || c.version == "" || len(c.bad) > 0 ||
					!strings.Contains(c.body, `"max_tokens"`) || !strings.Contains(c.body, `"claude-3-5-haiku-20241022"`) {
					t.Errorf("the provider got path %s, key %q, anthropic-version %q, headers %v, body %s", c.path, c.key, c.version, c.bad, c.body)
				}
			}
		})
	}

	t.Run("a 3 MB request", func(t *testing.T) {
		big := strings.Repeat("x", 3<<20)
		r0, a0 := streamsByFilter(t, mod)
		mu.Lock()
		got = nil
		mu.Unlock()
		code, _, b := postWith(t, mod.URL+"/v1/chat/completions", master, chatBody("claude", big))
		r1, a1 := streamsByFilter(t, mod)
		if code != 200 || !strings.Contains(string(b), "hello from claude") {
			t.Fatalf("%d %.300s", code, b)
		}
		// (The module's request filter hands a body of many slices to the
		// ext_proc one: r1-r0 may be 1; the try is still the module's.)
		if a1 != a0 {
			t.Errorf("ext_proc streams opened: request filter %d, attempt filter %d", r1-r0, a1-a0)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 || !strings.Contains(got[0].body, big) || !strings.Contains(got[0].body, `"max_tokens"`) {
			t.Errorf("the provider did not get the whole translated body (%d calls)", len(got))
		}
		prompt, completion = prompt+12, completion+4
	})

	t.Run("retry onto the other deployment of the group", func(t *testing.T) {
		cfgRetry := func(g *Gateway) {
			for i := 0; i < 6; i++ {
				code, _, b := postWith(t, g.URL+"/v1/chat/completions", master, chatBody("pair", "hi", `"num_retries":1`))
				if code != 200 || !strings.Contains(string(b), "hello from claude") {
					t.Fatalf("pair: %d %s", code, b)
				}
			}
		}
		cfgRetry(mod)
		cfgRetry(ext)
	})

	t.Run("official SDK", func(t *testing.T) {
		client := openai.NewClient(option.WithBaseURL(mod.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r0, a0 := streamsByFilter(t, mod)
		c, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		if err != nil || len(c.Choices) != 1 || c.Choices[0].Message.Content != "hello from claude" || c.Usage.TotalTokens != 16 || c.Model != "claude" {
			t.Fatalf("completion %+v, %v", c, err)
		}
		s := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "claude",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil || len(acc.Choices) != 1 || acc.Choices[0].Message.Content != "hello" || acc.Choices[0].FinishReason != "stop" {
			t.Fatalf("stream %+v, %v", acc.Choices, err)
		}
		prompt, completion = prompt+12+9, completion+4+5
		if r1, a1 := streamsByFilter(t, mod); r1 != r0 || a1 != a0 {
			t.Errorf("ext_proc streams opened: request filter %d, attempt filter %d", r1-r0, a1-a0)
		}
	})

	t.Run("no provider key in Envoy's config or logs; usage in the outcomes", func(t *testing.T) {
		for _, p := range []string{"/config_dump?include_eds", "/clusters"} {
			if d := adminGet(t, mod, p); strings.Contains(d, "sk-ant-mt-") {
				t.Errorf("a provider key is in %s", p)
			}
		}
		if strings.Contains(mod.Stderr(), "sk-ant-mt-") {
			t.Errorf("a provider key is in the gateway's logs")
		}
		var mb []byte
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			_, _, mb = do(t, "GET", mod.URL+"/metrics", master, "")
			if metricSum(mb, "litellm_output_tokens_metric_total") >= completion+6*4 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The retry subtest's answers count too: 6 answers of 12 + 4.
		if got, want := metricSum(mb, "litellm_input_tokens_metric_total"), prompt+6*12; got != want {
			t.Errorf("litellm_input_tokens_metric_total = %v, want %v", got, want)
		}
		if got, want := metricSum(mb, "litellm_output_tokens_metric_total"), completion+6*4; got != want {
			t.Errorf("litellm_output_tokens_metric_total = %v, want %v", got, want)
		}
		if got := metricSum(mb, "litellm_spend_metric_total"); got <= 0 {
			t.Errorf("litellm_spend_metric_total = %v: no cost for the translated answers", got)
		}
	})
}

// TestModuleTranslatedProviders (D61, D71): the providers whose tries the
// module translates besides Anthropic (Gemini, Cohere, Ollama, Hugging
// Face): a request, streamed (with and without include_usage) or not, opens
// no ext_proc stream and is answered as the ext_proc gateway answers it
// (byte for byte but ids and times: the fake provider makes its own) — a
// stream carries the usage only when the client asked; the official OpenAI
// SDK reads a stream of each; every answer's tokens reach /metrics, the same
// as the ext_proc gateway's for the same requests. Before D71 a stream took
// the attempt filter.
func TestModuleTranslatedProviders(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gm
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: %[1]s, api_key: g-mt-1}
  - model_name: gm
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: %[1]s, api_key: g-mt-2}
  - model_name: co
    litellm_params: {model: cohere/command-r-plus, api_base: %[1]s, api_key: co-mt-1}
  - model_name: co
    litellm_params: {model: cohere/command-r-plus, api_base: %[1]s, api_key: co-mt-2}
  - model_name: ol
    litellm_params: {model: ollama_chat/llama3.1, api_base: %[1]s}
  - model_name: ol
    litellm_params: {model: ollama_chat/llama3.1, api_base: %[1]s}
  - model_name: hf
    litellm_params: {model: huggingface/meta-llama/Llama-3.1-8B-Instruct, api_base: %[1]s/hf, api_key: hf-mt-1}
  - model_name: hf
    litellm_params: {model: huggingface/meta-llama/Llama-3.1-8B-Instruct, api_base: %[1]s/hf, api_key: hf-mt-2}
router_settings:
  num_retries: 1
litellm_settings:
  callbacks: ["prometheus"]
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	mod, ext := moduleAndExtProc(t, cfg)
	ids := regexp.MustCompile(`"(id|system_fingerprint)":"[^"]*"`)
	norm := func(b []byte) string { return ids.ReplaceAllString(stampedNow(b), `"$1":"-"`) }
	for _, model := range []string{"gm", "co", "ol", "hf"} {
		t.Run(model, func(t *testing.T) {
			r0, a0 := streamsByFilter(t, mod)
			ca, ha, ba := postWith(t, mod.URL+"/v1/chat/completions", master, chatBody(model, "hello "+model))
			r1, a1 := streamsByFilter(t, mod)
			cb, hb, bb := postWith(t, ext.URL+"/v1/chat/completions", master, chatBody(model, "hello "+model))
			if ca != 200 || cb != 200 {
				t.Fatalf("status %d with the module, %d with ext_proc:\n%s\n%s", ca, cb, ba, bb)
			}
			if r1 != r0 || a1 != a0 {
				t.Errorf("ext_proc streams opened: request filter %d, attempt filter %d; want none", r1-r0, a1-a0)
			}
			if norm(ba) != norm(bb) || !strings.Contains(string(ba), "hello "+model) || !strings.Contains(string(ba), `"model":"`+model+`"`) {
				t.Errorf("body with the module:\n%s\nwith ext_proc:\n%s", ba, bb)
			}
			for _, k := range []string{"x-litellm-model-group", "x-litellm-attempted-retries", "x-litellm-response-cost", "content-type"} {
				if ha.Get(k) != hb.Get(k) {
					t.Errorf("%s: %q with the module, %q with ext_proc", k, ha.Get(k), hb.Get(k))
				}
			}
			for _, includeUsage := range []bool{false, true} {
				extra := []string{`"stream":true`}
				if includeUsage {
					extra = append(extra, `"stream_options":{"include_usage":true}`)
				}
				r2, a2 := streamsByFilter(t, mod)
				cs, hs, bs := postWith(t, mod.URL+"/v1/chat/completions", master, chatBody(model, "hello "+model, extra...))
				r3, a3 := streamsByFilter(t, mod)
				ce, he, be := postWith(t, ext.URL+"/v1/chat/completions", master, chatBody(model, "hello "+model, extra...))
				if cs != 200 || ce != 200 || !strings.Contains(string(bs), "data: [DONE]") || !strings.Contains(string(bs), `"finish_reason":"stop"`) {
					t.Fatalf("stream (include_usage %v): %d with the module, %d with ext_proc:\n%s", includeUsage, cs, ce, bs)
				}
				if r3 != r2 || a3 != a2 {
					t.Errorf("stream (include_usage %v): ext_proc streams opened: request filter %d, attempt filter %d; want none", includeUsage, r3-r2, a3-a2)
				}
				if norm(bs) != norm(be) {
					t.Errorf("stream (include_usage %v) with the module:\n%s\nwith ext_proc:\n%s", includeUsage, bs, be)
				}
				if got := strings.Contains(string(bs), `"usage"`); got != includeUsage || includeUsage && !strings.Contains(string(bs), `"total_tokens"`) {
					t.Errorf("stream (include_usage %v): usage in the answer %v:\n%s", includeUsage, got, bs)
				}
				for _, k := range []string{"x-litellm-model-group", "x-litellm-attempted-retries", "content-type"} {
					if hs.Get(k) != he.Get(k) {
						t.Errorf("stream %s: %q with the module, %q with ext_proc", k, hs.Get(k), he.Get(k))
					}
				}
			}
			// The official SDK (it closes at [DONE], D71), on both gateways.
			for _, g := range []*Gateway{mod, ext} {
				client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0))
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				r4, a4 := streamsByFilter(t, mod)
				s := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello " + model)}})
				var acc openai.ChatCompletionAccumulator
				for s.Next() {
					acc.AddChunk(s.Current())
				}
				cancel()
				if err := s.Err(); err != nil || len(acc.Choices) != 1 || !strings.Contains(acc.Choices[0].Message.Content, "hello "+model) || acc.Choices[0].FinishReason == "" {
					t.Errorf("SDK stream: %+v, %v", acc.Choices, err)
				}
				if r5, a5 := streamsByFilter(t, mod); g == mod && (r5 != r4 || a5 != a4) {
					t.Errorf("SDK stream: ext_proc streams opened: request filter %d, attempt filter %d; want none", r5-r4, a5-a4)
				}
			}
		})
	}
	t.Run("usage in the outcomes", func(t *testing.T) {
		// Four answers per model on each gateway: JSON, two streams, the SDK's.
		var mb, eb []byte
		done := func() bool {
			for _, model := range []string{"gm", "co", "ol", "hf"} {
				l := `requested_model="` + model + `"`
				if metricSum(mb, "litellm_deployment_success_responses_total", l) != 4 || metricSum(eb, "litellm_deployment_success_responses_total", l) != 4 {
					return false
				}
			}
			return true
		}
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			_, _, mb = do(t, "GET", mod.URL+"/metrics", master, "")
			_, _, eb = do(t, "GET", ext.URL+"/metrics", master, "")
			if done() {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, model := range []string{"gm", "co", "ol", "hf"} {
			l := `requested_model="` + model + `"`
			if got := metricSum(mb, "litellm_deployment_success_responses_total", l); got != 4 {
				t.Errorf("%s: %v successes with the module, want 4", model, got)
			}
			for _, m := range []string{"litellm_input_tokens_metric_total", "litellm_output_tokens_metric_total"} {
				if a, b := metricSum(mb, m, l), metricSum(eb, m, l); a != b || a <= 0 {
					t.Errorf("%s: %s = %v with the module, %v with ext_proc", model, m, a, b)
				}
			}
		}
	})
}
