package extproc

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
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
	return moduleTranslatedFixtureBody(tb, benchAnthropicBody)
}

// moduleTranslatedFixtureBody is moduleTranslatedFixture for another request.
func moduleTranslatedFixtureBody(tb testing.TB, body []byte) (*ModuleFilter, string, string) {
	tb.Helper()
	cfg, err := config.Parse([]byte(anthropicModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a, ok := m.Serve(moduleHeaders("sk-master"), body, time.Now())
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

// TestModuleTryKeptContext (D107): the module's translated try takes the
// context Serve encoded — the one llmgate.ctx decodes to — instead of
// decoding llmgate.ctx again, and translates the request and the answer as a
// try that decodes it (another filter's, whose Serve kept nothing); a slot
// another request took is a miss.
func TestModuleTryKeptContext(t *testing.T) {
	m, cluster, ctx := moduleTranslatedFixture(t)
	kept := m.s.tryCtx.get(ctx)
	if kept == nil {
		t.Fatal("Serve kept no context for the translated request's tries")
	}
	dec, err := decodeContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(kept, dec) {
		t.Fatalf("kept context %v, llmgate.ctx decodes to %v", kept, dec)
	}
	mt, ok := m.NewModuleTry(cluster, 1, ctx)
	if !ok || mt.t.rc != kept {
		t.Fatalf("the try did not take the kept context (ok %v)", ok)
	}
	other, _, _ := moduleTranslatedFixture(t)
	if other.s.tryCtx.get(ctx) != nil {
		t.Fatal("another filter holds this request's context")
	}
	dt, ok := other.NewModuleTry(cluster, 1, ctx)
	if !ok || dt.t.rc == kept || !proto.Equal(dt.t.rc, kept) {
		t.Fatalf("the other filter's try: ok %v, context %v", ok, dt.t.rc)
	}
	gotB, gotSet, gotRm, r1 := mt.Request(benchAnthropicBody)
	wantB, wantSet, wantRm, r2 := dt.Request(benchAnthropicBody)
	if r1 != nil || r2 != nil || !bytes.Equal(gotB, wantB) || !sameSet(gotSet, wantSet) || !slices.Equal(gotRm, wantRm) {
		t.Errorf("request with the kept context %s %v %v, decoded %s %v %v", gotB, gotSet, gotRm, wantB, wantSet, wantRm)
	}
	for _, try := range []*ModuleTry{mt, dt} {
		try.ResponseHeaders(200, false)
	}
	gotA, _, _ := mt.ResponseJSON(benchAnthropicAnswer, "")
	wantA, _, _ := dt.ResponseJSON(benchAnthropicAnswer, "")
	if !bytes.Equal(createdRE.ReplaceAll(gotA, nil), createdRE.ReplaceAll(wantA, nil)) {
		t.Errorf("answer with the kept context %s, decoded %s", gotA, wantA)
	}
	// A request whose slot another took: a miss.
	c := m.s.tryCtx
	for i := 0; ; i++ {
		enc := fmt.Sprint("other-", i)
		if c.slot(enc) == c.slot(ctx) {
			c.put(enc, &llmgatev1.RequestContext{})
			break
		}
	}
	if c.get(ctx) != nil {
		t.Error("a slot another request took still answers this one")
	}
}

// createdRE is an answer's "created" (its second).
var createdRE = regexp.MustCompile(`"created":\d+`)

// sameSet: the same header pairs, in any order.
func sameSet(a, b [][2]string) bool {
	less := func(x, y [2]string) int { return strings.Compare(x[0]+"\x00"+x[1], y[0]+"\x00"+y[1]) }
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, less)
	slices.SortFunc(b, less)
	return slices.Equal(a, b)
}

// TestModuleTranslatedTryAllocs (D107): the module's whole work for one
// translated try of the bench's Anthropic config (BenchmarkModuleTranslatedTry)
// stays within its allocations: the kept context, the header changes as
// pairs and the answer written without encoding/json (177 before).
func TestModuleTranslatedTryAllocs(t *testing.T) {
	m, cluster, ctx := moduleTranslatedFixture(t)
	n := testing.AllocsPerRun(200, func() {
		mt, ok := m.NewModuleTry(cluster, 1, ctx)
		if !ok {
			t.Fatal("no try")
		}
		if _, _, _, reply := mt.Request(benchAnthropicBody); reply != nil {
			t.Fatal(string(reply.Body))
		}
		mt.ResponseHeaders(200, false)
		mt.ResponseJSON(benchAnthropicAnswer, "")
	})
	if n > 40 {
		t.Errorf("a translated try made %.0f allocations, want at most 40", n)
	}
}
