package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// The fast path's answers priced with their cached prompt tokens (D146).

// cachedUsageJSON is an OpenAI usage object with a prompt-cache read, as
// OpenAI sends it.
const cachedUsageJSON = `{"prompt_tokens":1000,"completion_tokens":10,"total_tokens":1010,"prompt_tokens_details":{"cached_tokens":600,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`

// startCachedOpenAI is an OpenAI-compatible provider whose every answer
// (a JSON answer, or a stream with its usage chunk) reports 600 of its
// 1,000 prompt tokens read from the prompt cache.
func startCachedOpenAI(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream bool `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if !req.Stream {
			w.Header().Set("content-type", "application/json")
			fmt.Fprint(w, `{"id":"chatcmpl-c1","object":"chat.completion","created":1764470000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"cached","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":`+cachedUsageJSON+`,"system_fingerprint":"fp_1"}`)
			return
		}
		w.Header().Set("content-type", "text/event-stream")
		fmt.Fprint(w, `data: {"id":"chatcmpl-c2","object":"chat.completion.chunk","created":1764470000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":"cached"},"logprobs":null,"finish_reason":null}],"usage":null}`+"\n\n")
		fmt.Fprint(w, `data: {"id":"chatcmpl-c2","object":"chat.completion.chunk","created":1764470000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`+"\n\n")
		fmt.Fprint(w, `data: {"id":"chatcmpl-c2","object":"chat.completion.chunk","created":1764470000,"model":"gpt-4o-2024-08-06","choices":[],"usage":`+cachedUsageJSON+`}`+"\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFastPathCachedTokensPriced (D146): an OpenAI-compatible answer whose
// usage has prompt_tokens_details.cached_tokens is priced as LiteLLM prices
// it — (prompt − cached)·input + cached·cache_read + completion·output — in
// x-litellm-response-cost and in the key's spend, whichever filter serves
// it: the module's fast path, the ext_proc filter's fast path (the
// listener's Lua), and the ext_proc path's attempt filter (a request with
// metadata, which no fast path serves), each with openai-go through Envoy;
// a stream's spend too. Before D146 both fast paths charged the 600 cached
// tokens at the input price (0.052 instead of 0.0226).
func TestFastPathCachedTokensPriced(t *testing.T) {
	prov := startCachedOpenAI(t)
	const in, out, read = 5e-05, 2e-04, 1e-06
	want := float64(1000-600)*in + 600*read + 10*out
	cfg := fmt.Sprintf(`model_list:
  - model_name: cached
    litellm_params: {model: openai/gpt-4o, api_base: %s/v1, api_key: sk-p}
    model_info: {input_cost_per_token: %g, output_cost_per_token: %g, cache_read_input_token_cost: %g}
  - model_name: denied
    litellm_params: {model: openai/gpt-4o, api_base: %s/v1, api_key: sk-p}
router_settings:
  num_retries: 0
general_settings:
  master_key: %s
  proxy_batch_write_at: 1
`, prov.URL, in, out, read, prov.URL, master)
	near := func(got, want float64) bool { return math.Abs(got-want) <= 1e-12+1e-9*math.Abs(want) }
	for _, mode := range []struct {
		name string
		args []string
	}{{"module", moduleArgs}, {"extproc", []string{"--request-filter=extproc"}}} {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, cfg, mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			key, _ := keyAPI{t, g}.generate(`{"models":["cached"]}`)
			if mode.name == "module" {
				waitModuleKnowsKey(t, g, key, "denied")
			}
			client := newClient(g, key)
			ctx := context.Background()
			ask := func(what string, meta bool) {
				t.Helper()
				params := openai.ChatCompletionNewParams{Model: "cached", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("long cached prompt")}}
				if meta {
					params.Metadata = map[string]string{"path": "ext_proc"} // no fast path serves it
				}
				var raw *http.Response
				var resp *openai.ChatCompletion
				var err error
				for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
					resp, err = client.Chat.Completions.New(ctx, params, option.WithResponseInto(&raw))
					if err == nil || time.Now().After(deadline) {
						break
					}
				}
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if resp.Usage.PromptTokensDetails.CachedTokens != 600 || resp.Usage.PromptTokens != 1000 {
					t.Fatalf("%s: usage %+v, want the provider's", what, resp.Usage)
				}
				got, perr := strconv.ParseFloat(raw.Header.Get("x-litellm-response-cost"), 64)
				if perr != nil || !near(got, want) {
					t.Fatalf("%s: x-litellm-response-cost %q, want %g (600 cached tokens at the cache-read price)", what, raw.Header.Get("x-litellm-response-cost"), want)
				}
			}
			before := requestFilterStreams(t, g)
			ask("fast path", false)
			if mode.name == "module" && requestFilterStreams(t, g) != before {
				t.Fatal("the plain request went through the ext_proc filter, want the module's fast path")
			}
			ask("ext_proc path", true)
			stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "cached",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("long cached prompt")}})
			for stream.Next() {
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			total := 3 * want
			var spend float64
			for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				spend = keyAPI{t, g}.spend(key)
				if near(spend, total) || time.Now().After(deadline) {
					break
				}
			}
			if !near(spend, total) {
				t.Fatalf("key spend %g, want %g (three answers of %g each)", spend, total, want)
			}
		})
	}
}
