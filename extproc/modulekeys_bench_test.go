package extproc

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/keys"
)

// BenchmarkModuleServeTypicalKeys is BenchmarkModuleServeTypical with 1,000
// virtual keys in the module's key table, for the master key and for one of
// the keys: what a virtual key adds to the module's request side (D88).
func BenchmarkModuleServeTypicalKeys(b *testing.B) {
	m, tokens, h, body := typicalKeysModule(b, 1000)
	for _, who := range []string{"master", "virtual"} {
		b.Run(who, func(b *testing.B) {
			hs := h(tokens[who])
			b.ReportAllocs()
			for b.Loop() {
				a, ok := m.Serve(hs, body, time.Now())
				if !ok || a.Resp == nil {
					b.Fatal("not served on the fast path")
				}
			}
		})
		// As the module serves it: the caller from the headers (D135).
		b.Run(who+"-auth", func(b *testing.B) {
			hs := h(tokens[who])
			_, _, ks := m.HandOnSlots(hs, len(hs), 200, 10)
			b.ReportAllocs()
			for b.Loop() {
				a, ok := m.ServeAuth(hs, body, time.Now(), ks.Auth)
				if !ok || a.Resp == nil {
					b.Fatal("not served on the fast path")
				}
			}
		})
	}
}

// A virtual key's fast request makes at most one allocation more in Serve
// than the master key's: the grant (D108: the key headers' copies per plan
// entry and the context's header map made five; D127: the max budget's
// header value formatted per request and the checks' model names on the
// heap made three), and its x-litellm-key-* headers are in the answer
// plan's common headers once, in no entry.
func TestModuleServeKeyAllocs(t *testing.T) {
	m, tokens, h, body := typicalKeysModule(t, 100)
	allocs := map[string]float64{}
	for _, who := range []string{"master", "virtual"} {
		hs := h(tokens[who])
		allocs[who] = testing.AllocsPerRun(200, func() {
			if a, ok := m.Serve(hs, body, time.Now()); !ok || a.Resp == nil {
				t.Fatal("not served on the fast path")
			}
		})
	}
	if d := allocs["virtual"] - allocs["master"]; d > 1 {
		t.Errorf("a virtual key's Serve makes %.0f allocations more than the master key's (%.0f), want at most 1", d, allocs["master"])
	}
	a, ok := m.Serve(h(tokens["virtual"]), body, time.Now())
	if !ok || a.Resp == nil {
		t.Fatal("not served on the fast path")
	}
	n := 0
	for _, kv := range a.Resp.Common {
		if kv[0] == "x-litellm-key-spend" || kv[0] == "x-litellm-key-max-budget" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("common headers %v: want x-litellm-key-spend and -max-budget once each", a.Resp.Common)
	}
	for i, e := range a.Resp.Entries {
		for _, kv := range e.Headers {
			if kv[0] == "x-litellm-key-spend" || kv[0] == "x-litellm-key-max-budget" {
				t.Errorf("entry %d carries %s", i, kv[0])
			}
		}
	}
}

// typicalKeysModule is a module filter on the typical config with n
// virtual keys in its key table; tokens: "master" and "virtual" (one of the
// keys); h: a request's headers with a token.
func typicalKeysModule(tb testing.TB, n int) (m *ModuleFilter, tokens map[string]string, h func(string) map[string]string, body []byte) {
	cfg, err := config.Parse([]byte(typicalModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, key := benchKeyService(tb, n, "gpt", log)
	view := keys.NewView()
	view.ApplySnapshot(svc.Snapshot())
	m = NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, log)
	m.UseKeys(view)
	body = []byte(`{"model":"gpt","messages":[{"role":"user","content":"hello there"}],"temperature":0.2}`)
	return m, map[string]string{"master": "sk-master", "virtual": key}, moduleHeaders, body
}

// TestModuleServeAuthOnce: the caller HandOnSlots found at the headers is
// the one ServeAuth serves (D135: the key was hashed and looked up again at
// the body). Proved by changing the key header between the two: with the
// headers' Auth the request is served as the key's (its spend headers),
// while Serve, which reads the key again, hands the unknown key on. The
// master key's Auth is carried too, and a request HandOn hands on carries
// none.
func TestModuleServeAuthOnce(t *testing.T) {
	m, tokens, h, body := typicalKeysModule(t, 10)
	for _, who := range []string{"master", "virtual"} {
		hs := h(tokens[who])
		hs["content-length"] = "100"
		handOn, reply, ks := m.HandOnSlots(hs, len(hs), 200, 100)
		if handOn || reply != nil || !ks.Auth.ok {
			t.Fatalf("%s: HandOnSlots handOn %v, reply %v, auth kept %v; want the request kept with its caller", who, handOn, reply, ks.Auth.ok)
		}
		hs["authorization"] = "Bearer sk-not-a-key"
		a, ok := m.ServeAuth(hs, body, time.Now(), ks.Auth)
		if !ok || a.Resp == nil {
			t.Fatalf("%s: not served with the headers' caller", who)
		}
		spend := false
		for _, kv := range a.Resp.Common {
			spend = spend || kv[0] == "x-litellm-key-spend"
		}
		if spend != (who == "virtual") {
			t.Errorf("%s: x-litellm-key-spend in the answer %v, want %v", who, spend, who == "virtual")
		}
		if _, ok := m.Serve(hs, body, time.Now()); ok {
			t.Errorf("%s: Serve served an unknown key (it must read the key again)", who)
		}
	}
	hs := h(tokens["virtual"])
	delete(hs, "content-length") // unsized: handed on at the headers
	if handOn, _, ks := m.HandOnSlots(hs, len(hs), 200, -1); !handOn || ks.Auth.ok {
		t.Errorf("an unsized request: handOn %v, auth kept %v; want handed on without one", handOn, ks.Auth.ok)
	}
}
