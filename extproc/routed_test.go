package extproc

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/xds"
)

// TestModuleMetadataBytes: the module's metadata written as bytes
// (moduleMetadata, D65) parses to the Structs of the ext_proc answer
// (processingResponse) for the same routed answer: not fast, fast, fast
// with the plan's deployments and a stream, with the retry spacing, a plan
// longer than the cached groups.
func TestModuleMetadataBytes(t *testing.T) {
	cfg, log := moduleTestSetup(t)
	st := NewState(cfg, nil, "v1", log)
	plan := []*llmgatev1.Attempt{{DeploymentId: "ga", ModelGroup: "gpt"}, {DeploymentId: "so", ModelGroup: "solo", Provider: "openai"}, {DeploymentId: "ga", ModelGroup: "gpt"}}
	var long []*llmgatev1.Attempt
	for range planGroupsCached + 2 {
		long = append(long, plan...)
	}
	for i, r := range []*routed{
		{plan: plan[:1], ctx: "Y3R4", group: "gpt", model: "gpt", path: "/v1/chat/completions"},
		{plan: plan, ctx: "Y3R4Y3R4", group: "gpt", model: "alias", path: "/chat/completions", fast: true, ep: "chat"},
		{plan: plan, ctx: "x", group: "g", model: "m", path: "/v1/embeddings", fast: true, ep: "embeddings", deps: true, stream: true},
		{plan: plan, ctx: "x", group: "g", model: "m", path: "/p", spacing: &spacingPlan{timeout: 1500 * time.Millisecond, holds: "0,250,0"}},
		{plan: long, ctx: strings.Repeat("c", 300), group: "g", model: "m", path: "/p", fast: true, ep: "chat", deps: true},
	} {
		resp, err := r.processingResponse(st)
		if err != nil {
			t.Fatal(err)
		}
		want := resp.GetDynamicMetadata().GetFields()
		got := r.moduleMetadata(st)
		if len(got) != len(want) {
			t.Fatalf("case %d: %d namespaces, want %d", i, len(got), len(want))
		}
		for _, md := range got {
			s := &structpb.Struct{}
			if err := proto.Unmarshal(md[1], s); err != nil {
				t.Fatalf("case %d: %s: %v", i, md[0], err)
			}
			if w := want[string(md[0])].GetStructValue(); !proto.Equal(s, w) {
				t.Errorf("case %d: namespace %s:\n got %v\nwant %v", i, md[0], s, w)
			}
		}
	}
}

// TestModuleServesTypicalAsExtProc: on the bench's typical config as
// llmgate run configures the module (the upstream filter, outcomes off the
// path), the module's fast answer is the ext_proc filter's: metadata,
// headers set and removed, body.
func TestModuleServesTypicalAsExtProc(t *testing.T) {
	cfg, err := config.Parse([]byte(typicalModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mc := ModuleConfig{OffPathOutcomes: true, Upstream: true}
	m := NewModuleFilter(cfg, "v1", mc, log)
	h := moduleHeaders("sk-master")
	h["x-client-thing"] = "1"
	body := []byte(`{"model":"gpt","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	start := time.Now()
	a, ok := m.Serve(h, body, start)
	if !ok || a.Resp == nil {
		t.Fatal("not served on the fast path")
	}
	// The same State's routeRequest (the plan is a shuffle: compare the
	// plan-independent parts, and the plan by its length).
	resp, te := m.s.routeRequest(m.st, classify("POST", h[":path"]), h, body, start, nil, identity{master: true})
	if te != nil {
		t.Fatal(te)
	}
	want := resp.GetDynamicMetadata().GetFields()
	if want[contract.FastAnswerMetadataNamespace] == nil {
		t.Fatal("the ext_proc answer has no llmgate.fp")
	}
	delete(want, contract.FastAnswerMetadataNamespace) // the module keeps it in memory (a.Resp)
	// One namespace: the fast fields are llmgate.ctx's, no llmgate.fast
	// (D70), and the plan's three tries share the host's cluster, named in
	// xds.ClusterHeader instead of a llmgate.plan (D75).
	if len(a.Metadata) != 1 || len(want) != 2 || want[contract.FastMetadataNamespace] != nil {
		t.Fatalf("namespaces %d (ext_proc answer %d), want 1: llmgate.ctx", len(a.Metadata), len(want))
	}
	if cl := setHeader(a.Set, xds.ClusterHeader); cl != "dep_host_a_test_80" {
		t.Errorf("%s %q, want the host's cluster", xds.ClusterHeader, cl)
	}
	for _, md := range a.Metadata {
		got := &structpb.Struct{}
		if err := proto.Unmarshal(md[1], got); err != nil {
			t.Fatal(err)
		}
		w := want[string(md[0])].GetStructValue()
		switch string(md[0]) {
		case contract.ContextMetadataNamespace:
			if len(got.Fields) != len(w.Fields) || !got.Fields["fast"].GetBoolValue() || got.Fields["group"].GetStringValue() != "gpt" {
				t.Errorf("llmgate.ctx %v, want like %v", got, w)
			}
			if got.Fields["ep"].GetStringValue() != "chat" || got.Fields["ep"].GetStringValue() != w.Fields["ep"].GetStringValue() ||
				!got.Fields["st"].GetBoolValue() || strings.Count(got.Fields["d"].GetStringValue(), "\n") != 3 {
				t.Errorf("llmgate.ctx's fast fields %v, want like %v", got, w)
			}
		case contract.PlanMetadataNamespace:
			if len(got.Fields["priority_groups"].GetListValue().GetValues()) != 3 {
				t.Errorf("llmgate.plan %v", got)
			}
		default:
			t.Errorf("namespace %s", md[0])
		}
	}
	removed := strings.Join(a.Remove, ",")
	wantRemoved := strings.Join(resp.GetRequestBody().GetResponse().GetHeaderMutation().GetRemoveHeaders(), ",")
	if !strings.Contains(removed, "x-client-thing") || !strings.Contains(removed, "authorization") || !strings.Contains(removed, "transfer-encoding") ||
		len(a.Remove) != len(resp.GetRequestBody().GetResponse().GetHeaderMutation().GetRemoveHeaders())+1 {
		t.Errorf("removed %s, want %s and transfer-encoding", removed, wantRemoved)
	}
	if string(a.Body) != string(resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody()) {
		t.Errorf("body %s", a.Body)
	}
	if len(a.Resp.Entries) != 3 {
		t.Errorf("answer plan entries %d", len(a.Resp.Entries))
	}
}

// TestFastDepCachePerConfig: the fast path's per-deployment work is cached
// per config: a reload (a new State) with another api_base answers with the
// new one, never the previous config's.
func TestFastDepCachePerConfig(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	serve := func(yaml string) *RespPlan {
		t.Helper()
		cfg, err := config.Parse([]byte(yaml), "t.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true}, log)
		var p *RespPlan
		for range 3 {
			a, ok := m.Serve(moduleHeaders("sk-master"), []byte(`{"model":"gpt","messages":[]}`), time.Now())
			if !ok || a.Resp == nil {
				t.Fatal("not served on the fast path")
			}
			p = a.Resp
		}
		return p
	}
	bases := func(p *RespPlan) string {
		var out []string
		for _, kv := range p.Common {
			if kv[0] == "x-litellm-model-api-base" {
				out = append(out, kv[1])
			}
		}
		for _, e := range p.Entries {
			for _, kv := range e.Headers {
				if kv[0] == "x-litellm-model-api-base" {
					out = append(out, kv[1])
				}
			}
		}
		return strings.Join(out, " ")
	}
	// The same deployment ids in both configs: only the api_base moves.
	withIDs := strings.NewReplacer("api_key: sk-1}", "api_key: sk-1}\n    model_info: {id: d1}", "api_key: sk-2}", "api_key: sk-2}\n    model_info: {id: d2}",
		"api_key: sk-3}", "api_key: sk-3}\n    model_info: {id: d3}").Replace(typicalModuleConfig)
	before := bases(serve(withIDs))
	after := bases(serve(strings.ReplaceAll(withIDs, "a.test", "b.test")))
	if !strings.Contains(before, "a.test") || strings.Contains(after, "a.test") || !strings.Contains(after, "b.test") {
		t.Errorf("api bases before the reload %q, after %q", before, after)
	}
}

// answerFast reports whether a module answer tags the request for the fast
// path: llmgate.ctx "ep" (module upstream mode, D70) or llmgate.fast.
func answerFast(t *testing.T, a ModuleAnswer) bool {
	t.Helper()
	for _, md := range a.Metadata {
		switch string(md[0]) {
		case contract.FastMetadataNamespace:
			return true
		case contract.ContextMetadataNamespace:
			s := &structpb.Struct{}
			if err := proto.Unmarshal(md[1], s); err != nil {
				t.Fatal(err)
			}
			if s.Fields[contract.FastEndpointKey] != nil {
				return true
			}
		}
	}
	return false
}
