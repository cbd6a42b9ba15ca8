package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestReturnResponseHeaders: litellm_settings.return_response_headers
// (D110) gives the client each header of the provider's answer again as
// llm_provider-<name>, as LiteLLM's process_response_headers does — on both
// request filters, for an OpenAI-compatible and a translated (Anthropic)
// deployment, streamed or not — and never a copy of llmgate's own, Envoy's
// or an internal header, nor of a reply the gateway made itself. Without
// the key no answer has them.
func TestReturnResponseHeaders(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{ResponseHeaders: map[string]string{
		"x-ratelimit-remaining-requests": "4999", "openai-processing-ms": "17", "x-request-id": "req_abc",
		"llm_provider-preset": "kept",
	}})
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-provider}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/anth, api_key: sk-ant}
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	// copies are the response's llm_provider-* headers.
	copies := func(h http.Header) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			if lk := strings.ToLower(k); strings.HasPrefix(lk, "llm_provider-") {
				out[lk] = strings.Join(v, ",")
			}
		}
		return out
	}
	stream := func(t *testing.T, g *Gateway, model string) http.Header {
		t.Helper()
		req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("authorization", "Bearer "+master)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "[DONE]") {
			t.Fatalf("stream: status %d, body %.200s", resp.StatusCode, b)
		}
		return resp.Header
	}
	for _, mode := range requestFilters {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, cfg+"litellm_settings:\n  return_response_headers: true\n", mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			client := newClient(g, master)
			for _, model := range []string{"gpt", "claude"} {
				var raw *http.Response
				_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
				}, option.WithResponseInto(&raw), option.WithMaxRetries(0))
				if err != nil {
					t.Fatalf("%s: %v", model, err)
				}
				for name, h := range map[string]http.Header{"json": raw.Header, "stream": stream(t, g, model)} {
					c := copies(h)
					for k, want := range map[string]string{"llm_provider-x-ratelimit-remaining-requests": "4999",
						"llm_provider-openai-processing-ms": "17", "llm_provider-x-request-id": "req_abc", "llm_provider-preset": "kept"} {
						if c[k] != want {
							t.Errorf("%s %s: %s = %q, want %q (copies %v)", model, name, k, c[k], want, c)
						}
					}
					if c["llm_provider-content-type"] == "" {
						t.Errorf("%s %s: no llm_provider-content-type (copies %v)", model, name, c)
					}
					for k := range c {
						for _, never := range []string{"llm_provider-llm_provider-", "llm_provider-x-litellm", "llm_provider-x-llmgate", "llm_provider-x-envoy", "llm_provider-:"} {
							if strings.HasPrefix(k, never) {
								t.Errorf("%s %s: %s copied", model, name, k)
							}
						}
					}
					if h.Get("x-litellm-model-id") == "" {
						t.Errorf("%s %s: x-litellm-model-id missing", model, name)
					}
				}
			}
			// A reply the gateway makes itself (an unknown model) is not a
			// provider's: nothing copied.
			var raw *http.Response
			_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: "nope", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			}, option.WithResponseInto(&raw), option.WithMaxRetries(0))
			if err == nil || raw == nil {
				t.Fatal("an unknown model was answered")
			}
			if c := copies(raw.Header); len(c) > 0 { // (the provider's preset one included: no provider answered)
				t.Errorf("the gateway's own %d has provider copies %v", raw.StatusCode, c)
			}
		})
	}
	t.Run("off", func(t *testing.T) {
		g := startGateway(t, cfg)
		c := copies(stream(t, g, "gpt"))
		delete(c, "llm_provider-preset") // the provider's own header, passed as it came
		if len(c) > 0 {
			t.Errorf("without return_response_headers: %v", c)
		}
	})
}

// TestModuleHeaderOpsPresence: the module's header operations read the
// headers once and leave out the removal of a header that is not there and
// add (not set) one that is not there (hooks.c llmgate_header_ops, D174).
// A header that is there is still replaced: a provider's own x-litellm-*
// headers on a fast answer reach the client as one value, the gateway's,
// never beside it; the client's key headers and the internal ones never
// reach the provider, and the deployment's key does, for first tries and
// retries alike.
func TestModuleHeaderOpsPresence(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{ResponseHeaders: map[string]string{
		"x-litellm-model-id": "provider-own", "x-litellm-response-cost": "99", "x-litellm-model-group": "theirs",
		"x-litellm-attempted-retries": "7",
	}})
	g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: ho
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/ho-a/v1, api_key: sk-ho-a}
  - model_name: ho
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/ho-b/v1, api_key: sk-ho-b}
general_settings:
  master_key: %[2]s
`, fake.URL(), master), moduleArgs)
	url := g.URL + "/v1/chat/completions"
	warmModule(t, g, url, "ho")
	from := time.Now()
	const n = 6
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(`{"model":"ho","messages":[{"role":"user","content":"hello"}]}`))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("authorization", "Bearer "+master)
		req.Header.Set("x-api-key", "client-x-api-key")
		req.Header.Set("api-key", "client-api-key")
		req.Header.Set("accept-encoding", "identity")
		req.Header.Set("x-litellm-model-id", "client-own")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if resp.StatusCode != 200 {
			t.Fatalf("answer %d: %d %s", i, resp.StatusCode, b)
		}
		for h, bad := range map[string]string{"x-litellm-model-id": "provider-own", "x-litellm-response-cost": "99",
			"x-litellm-model-group": "theirs", "x-litellm-attempted-retries": "7"} {
			vs := resp.Header.Values(h)
			if len(vs) != 1 || vs[0] == bad {
				t.Errorf("answer %d: %s %q, want one value, the gateway's", i, h, vs)
			}
		}
		if v := resp.Header.Get("x-litellm-model-group"); v != "ho" {
			t.Errorf("answer %d: x-litellm-model-group %q", i, v)
		}
	}
	seen := 0
	for _, r := range fake.Requests() {
		if r.Time.Before(from) || !strings.HasPrefix(r.Path, "/ho-") {
			continue
		}
		seen++
		for _, h := range []string{"x-api-key", "api-key", "accept-encoding", "x-litellm-model-id", "x-llmgate-group",
			"x-llmgate-cluster", "x-llmgate-module", "x-envoy-attempt-count"} {
			if v := r.Header.Get(h); v != "" {
				t.Errorf("the provider got %s: %q", h, v)
			}
		}
		if a := r.Header.Values("authorization"); len(a) != 1 || (a[0] != "Bearer sk-ho-a" && a[0] != "Bearer sk-ho-b") {
			t.Errorf("the provider got authorization %q", a)
		}
		if ct := r.Header.Values("content-type"); len(ct) != 1 || ct[0] != "application/json" {
			t.Errorf("the provider got content-type %q", ct)
		}
	}
	if seen < n {
		t.Errorf("the provider recorded %d requests, want at least %d", seen, n)
	}
}
