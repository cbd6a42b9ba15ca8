package extproc

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/translator"
)

// maxServeAllocs is the most allocations the module's Serve may make for a
// typical request (D93: 38 before the cuts, 19 after; D124: 17 with the answer plan by plan order). Counted by the
// allocator, not timed: a change that adds one per request fails here.
const maxServeAllocs = 17

// TestModuleServeAllocs (D93): the typical config's request served by the
// module allocates at most maxServeAllocs objects, and its prepared body is
// the translator's, byte for byte.
func TestModuleServeAllocs(t *testing.T) {
	cfg, err := config.Parse([]byte(typicalModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := moduleHeaders("sk-master")
	body := []byte(`{"model":"gpt","messages":[{"role":"user","content":"hello there"}],"temperature":0.2}`)
	a, ok := m.Serve(h, body, time.Now())
	if !ok || a.Resp == nil {
		t.Fatal("not served on the fast path")
	}
	want, _, err := translator.PassThroughBody("openai", translator.Chat, body, translator.Target{Provider: "openai", Model: "gpt-4o"})
	if err != nil || !bytes.Equal(a.Body, want) {
		t.Fatalf("prepared body %s, want the translator's %s (%v)", a.Body, want, err)
	}
	n := testing.AllocsPerRun(200, func() {
		if _, ok := m.Serve(h, body, time.Now()); !ok {
			t.Fatal("not served")
		}
	})
	if n > maxServeAllocs {
		t.Errorf("Serve made %.1f allocations per request, want at most %d", n, maxServeAllocs)
	}
}

// TestSplicedBodyIsTheTranslators (D93): the module's splice of the model
// into a plain body writes exactly what translator.PassThroughBody writes;
// what it cannot write so (a model JSON escapes, a span that is not a
// string) it leaves to the translator.
func TestSplicedBodyIsTheTranslators(t *testing.T) {
	m := &ModuleFilter{plain: map[string]bool{}}
	for _, k := range plainKeys {
		m.plain[k] = true
	}
	m.plain["user"] = true
	bodies := []string{
		`{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`,
		` { "messages" : [ ] , "model" : "gpt" , "temperature" : 0.2 } `,
		"{\n\t\"model\":\"a-much-longer-model-name-than-the-deployment's\",\"n\":1}",
		`{"model":"g","messages":[{"role":"user","content":"model \"x\" \\ é"}],"user":"u1","stop":["\n"]}`,
		`{"max_tokens":3,"model":"gpt"}`,
	}
	models := []string{"gpt-4o", "", "azure/dep 1", "x", "a\"b", "tab\there", "é", "del\x7f"}
	for _, b := range bodies {
		_, _, span, ok := m.plainBody([]byte(b))
		if !ok {
			t.Fatalf("%s: not plain", b)
		}
		for _, model := range models {
			want, _, err := translator.PassThroughBody("openai", translator.Chat, []byte(b), translator.Target{Provider: "openai", Model: model})
			if err != nil {
				t.Fatal(err)
			}
			got, ok := splicedBody([]byte(b), span, model)
			if !ok {
				if model != "a\"b" && model != "tab\there" && model != "é" && model != "del\x7f" {
					t.Errorf("%s with model %q: not spliced", b, model)
				}
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s with model %q: spliced %s, translator %s", b, model, got, want)
			}
		}
	}
	for _, sp := range []bodySpan{{at: 8, end: 14}, {at: 9, end: 16}, {}} {
		if _, ok := splicedBody([]byte(`{"model":"gpt"}`), sp, "m"); ok {
			t.Errorf("span %v, not a string value, was spliced", sp)
		}
	}
	for _, k := range plainKeys {
		if translator.IsLiteLLMOnly(k) {
			t.Errorf("plain key %q is LiteLLM-only: the module must not splice (NewModuleFilter)", k)
		}
	}
}

// TestLeaseStoreReadInto (D93): the router plans from a map it keeps
// (store.MapReader); through that interface the module's lease store still
// reads the lease view, not only its memory.
func TestLeaseStoreReadInto(t *testing.T) {
	l, _, minute := testLimits()
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{"d": {Minute: minute, Limit: 1000, Granted: 10, RPM: 50}}})
	ls := &leaseStore{Memory: store.NewMemory(l.now)}
	ls.l.Store(l)
	var mr store.MapReader = ls
	out := map[string]store.DeploymentState{"stale": {RPM: 7}}
	if err := mr.ReadInto(context.Background(), []string{"d", "e"}, store.ReadOptions{}, out); err != nil {
		t.Fatal(err)
	}
	// (the view's 50 less the 10 leased here and not spent)
	if out["d"].RPM != 40 || len(out) != 3 {
		t.Errorf("read %+v, want d at the view's rpm 40, e, and the entry already there", out)
	}
	m, err := ls.Read(context.Background(), []string{"d"}, store.ReadOptions{})
	if err != nil || m["d"].RPM != 40 {
		t.Errorf("Read %+v %v", m, err)
	}
}
