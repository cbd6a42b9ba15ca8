package extproc

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
)

// anthropicModuleConfig is the bench's Anthropic config (bench.AnthropicConfig):
// three Anthropic deployments, simple-shuffle, the master key.
const anthropicModuleConfig = `
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: http://a.test/dep-1, api_key: sk-ant-1}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: http://a.test/dep-2, api_key: sk-ant-2}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: http://a.test/dep-3, api_key: sk-ant-3}
router_settings:
  routing_strategy: simple-shuffle
general_settings:
  master_key: sk-master
`

// benchAnthropicBody is the bench's request (bench.ChatBody) and
// benchAnthropicAnswer fakellm's Messages answer to it.
var (
	benchAnthropicBody   = []byte(`{"model":"claude","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly."},{"role":"user","content":"Summarise the benefits of running an LLM gateway on Envoy in one paragraph."}],"temperature":0.2,"max_tokens":256}`)
	benchAnthropicAnswer = []byte(`{"id":"msg_fake0000000000000001","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":"fake response to: Summarise the benefits of running an LLM gateway on Envoy in one paragraph."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":30,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":14}}`)
)

// moduleTranslatedFixture serves the bench's request on the Anthropic config
// and returns the filter, a try's cluster and the request's llmgate.ctx.
func moduleTranslatedFixture(tb testing.TB) (*ModuleFilter, string, string) {
	tb.Helper()
	cfg, err := config.Parse([]byte(anthropicModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a, ok := m.Serve(moduleHeaders("sk-master"), benchAnthropicBody, time.Now())
	if !ok || a.Resp == nil {
		tb.Fatal("not served on the fast path")
	}
	ctx := ""
	for _, md := range a.Metadata {
		if string(md[0]) == contract.ContextMetadataNamespace {
			s := &structpb.Struct{}
			if err := proto.Unmarshal(md[1], s); err != nil {
				tb.Fatal(err)
			}
			ctx = s.Fields["ctx"].GetStringValue()
		}
	}
	if ctx == "" {
		tb.Fatal("no llmgate.ctx")
	}
	return m, m.Model().Deployments[0].ClusterFor(""), ctx
}

// BenchmarkModuleTranslatedTry is the module's work for one translated
// (Anthropic) try of the bench's Anthropic config, after Serve: the try
// built from llmgate.ctx, its request translated, the JSON answer
// translated back (D61, D95).
func BenchmarkModuleTranslatedTry(b *testing.B) {
	m, cluster, ctx := moduleTranslatedFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		mt, ok := m.NewModuleTry(cluster, 1, ctx)
		if !ok {
			b.Fatal("no try")
		}
		if _, _, _, reply := mt.Request(benchAnthropicBody); reply != nil {
			b.Fatal(string(reply.Body))
		}
		if mode, _, _ := mt.ResponseHeaders(200, false); mode != ModuleTryJSON {
			b.Fatal(mode)
		}
		mt.ResponseJSON(benchAnthropicAnswer, "")
	}
}
