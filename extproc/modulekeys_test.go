package extproc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/store"
)

// moduleTestSetup parses moduleTestConfig and gives a silent logger: the
// set-up every module test shares.
func moduleTestSetup(t testing.TB) (*config.Config, *slog.Logger) {
	t.Helper()
	cfg, err := config.Parse([]byte(moduleTestConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg, slog.New(slog.NewTextHandler(io.Discard, nil))
}

// moduleKeysSetup is the gateway's key service (embedded store) with the
// ext_proc filter on it, and the module's filter on a view of its table.
func moduleKeysSetup(t testing.TB) (svc *keys.Service, s *Server, m *ModuleFilter, view *keys.Service) {
	t.Helper()
	cfg, log := moduleTestSetup(t)
	ks, err := keystore.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	svc, err = keys.New(context.Background(), keys.Options{Store: ks, Counters: store.NewMemory(nil), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close(); _ = ks.Close() })
	bus := outcome.NewBus()
	bus.Register(keys.SpendSink, keys.SinkQueue, func(outcome.Try) {})
	s = NewServer(NewState(cfg, store.NewMemory(nil), "v1", log).WithKeys(svc), log)
	s.Outcomes, s.OffPathOutcomes = bus, true
	m = NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true}, log)
	view = keys.NewView()
	m.UseKeys(view)
	return svc, s, m, view
}

// push is the gateway's push: the snapshot through JSON into the view.
func push(t testing.TB, svc, view *keys.Service) {
	t.Helper()
	js, err := json.Marshal(svc.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var sn keys.Snapshot
	if err := json.Unmarshal(js, &sn); err != nil {
		t.Fatal(err)
	}
	view.ApplySnapshot(&sn)
}

func mgmt(t testing.TB, svc *keys.Service, path, body string) map[string]any {
	t.Helper()
	status, out := svc.Handle(context.Background(), "POST", path, []byte(body), keys.Caller{Admin: true})
	if status != 200 {
		t.Fatalf("%s %s: %d %s", path, body, status, out)
	}
	var r map[string]any
	_ = json.Unmarshal(out, &r)
	return r
}

// TestModuleServesVirtualKeys: the module serves a virtual key from the
// pushed table with the ext_proc filter's answer (same context with the
// key's hash, alias, team, user and x-litellm-key-* headers, same plan and
// metadata), refuses as it does (models, blocked, expired, key, team and
// member budgets), and hands on what the table does not hold.
func TestModuleServesVirtualKeys(t *testing.T) {
	svc, s, m, view := moduleKeysSetup(t)
	gen := func(body string) string { return mgmt(t, svc, "/key/generate", body)["key"].(string) }
	mgmt(t, svc, "/team/new", `{"team_id":"broke","max_budget":0.001}`)
	mgmt(t, svc, "/team/new", `{"team_id":"rich","max_budget":100}`)
	mgmt(t, svc, "/user/new", `{"user_id":"u-m"}`)
	mgmt(t, svc, "/team/member_add", `{"team_id":"rich","member":{"role":"user","user_id":"u-m"},"max_budget_in_team":0.001}`)
	ok := gen(`{"models":["gpt","solo"],"key_alias":"ok","max_budget":10,"aliases":{"my-gpt":"gpt"},"metadata":{"x":1}}`)
	open := gen(`{}`)
	blocked := gen(`{"models":["gpt"]}`)
	mgmt(t, svc, "/key/block", fmt.Sprintf(`{"key":%q}`, blocked))
	expired := gen(`{"duration":"1s"}`)
	spent := gen(`{"max_budget":0.001}`)
	team := gen(`{"team_id":"broke"}`)
	member := gen(`{"team_id":"rich","user_id":"u-m"}`)
	limited := gen(`{"rpm_limit":5}`)
	graced := gen(`{"models":["gpt"]}`)
	renewed := mgmt(t, svc, "/key/regenerate", fmt.Sprintf(`{"key":%q,"grace_period":"1h"}`, graced))["key"].(string)
	mgmt(t, svc, "/customer/new", `{"user_id":"c-blocked"}`)
	mgmt(t, svc, "/customer/block", `{"user_ids":["c-blocked"]}`)
	mgmt(t, svc, "/customer/new", `{"user_id":"c-broke","max_budget":0.001}`)
	mgmt(t, svc, "/customer/new", `{"user_id":"c-rpm","rpm_limit":5}`)
	svc.Record(keys.SpendEvent{EndUser: "c-broke", Cost: 0.002})
	svc.Record(keys.SpendEvent{KeyToken: keystore.HashKey(spent), Cost: 0.002})
	svc.Record(keys.SpendEvent{KeyToken: keystore.HashKey(team), TeamID: "broke", Cost: 0.002})
	svc.Record(keys.SpendEvent{KeyToken: keystore.HashKey(member), TeamID: "rich", UserID: "u-m", Cost: 0.002})
	svc.Record(keys.SpendEvent{KeyToken: keystore.HashKey(ok), Cost: 0.5})
	time.Sleep(1100 * time.Millisecond) // the 1 s key has expired
	push(t, svc, view)
	if n := view.Len(); n != 10 {
		t.Fatalf("the table holds %d keys, want 10 (rpm/tpm-limited keys are in it, D83)", n)
	}

	for _, tc := range []struct {
		what, key, body string
		handOn          bool // at the headers
		serve           bool // Serve answers (else hands on)
		status          int  // a refusal's status (0: routed)
	}{
		{"key", ok, `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, false, true, 0},
		{"key's alias", ok, `{"model":"my-gpt","messages":[]}`, false, true, 0},
		{"key, stream", ok, `{"model":"solo","messages":[],"stream":true}`, false, true, 0},
		{"key without models", open, `{"model":"gpt","messages":[]}`, false, true, 0},
		{"outside its models", ok, `{"model":"limited","messages":[]}`, false, false, 0}, // limited deployment: handed on anyway
		{"outside its models", blocked, `{"model":"solo","messages":[]}`, false, true, 401},
		{"blocked", blocked, `{"model":"gpt","messages":[]}`, false, true, 401},
		{"expired", expired, `{"model":"gpt","messages":[]}`, false, true, 401},
		{"key budget", spent, `{"model":"gpt","messages":[]}`, false, true, 400},
		{"team budget", team, `{"model":"gpt","messages":[]}`, false, true, 400},
		{"member budget", member, `{"model":"gpt","messages":[]}`, false, true, 400},
		{"regenerated: the old value in its grace period", graced, `{"model":"gpt","messages":[]}`, false, true, 0},
		{"regenerated: the new value", renewed, `{"model":"gpt","messages":[]}`, false, true, 0},
		{"regenerated: outside its models", graced, `{"model":"solo","messages":[]}`, false, true, 401},
		{"end user", ok, `{"model":"gpt","messages":[],"user":"e1"}`, false, true, 0},
		{"end user, master key", "sk-master", `{"model":"gpt","messages":[],"user":"e1"}`, false, true, 0},
		{"blocked end user", ok, `{"model":"gpt","messages":[],"user":"c-blocked"}`, false, true, 400},
		{"end user over budget", "sk-master", `{"model":"gpt","messages":[],"user":"c-broke"}`, false, true, 400},
		{"end user with an rpm limit", ok, `{"model":"gpt","messages":[],"user":"c-rpm"}`, false, false, 0},
		{"end user not a plain string", ok, `{"model":"gpt","messages":[],"user":"e\u0031"}`, false, false, 0},
		{"rpm limit: in the table, handed on without leases", limited, `{"model":"gpt","messages":[]}`, false, false, 0},
		{"unknown key", "sk-unknown-key-123456", ``, true, false, 0},
	} {
		h := moduleHeaders(tc.key)
		handOn, reply := m.HandOn(h, len(h), 100, 10)
		if handOn != tc.handOn || reply != nil {
			t.Errorf("%s: handOn %v reply %v, want %v", tc.what, handOn, reply, tc.handOn)
		}
		if handOn {
			continue
		}
		start := time.Now()
		a, served := m.Serve(h, []byte(tc.body), start)
		if served != tc.serve {
			t.Errorf("%s: served %v, want %v", tc.what, served, tc.serve)
			continue
		}
		if !served {
			continue
		}
		id, e := s.State().authenticate(h, true)
		if e != nil {
			t.Fatalf("%s: ext_proc: %v", tc.what, e)
		}
		resp, te := s.routeRequest(s.State(), classify("POST", h[":path"]), h, []byte(tc.body), start, nil, id)
		if tc.status != 0 {
			if te == nil || a.Reply == nil {
				t.Fatalf("%s: module reply %+v, ext_proc error %v", tc.what, a.Reply, te)
			}
			want := errorReply(te, map[string]string{"x-litellm-call-id": h["x-request-id"]}).GetImmediateResponse()
			if a.Reply.Status != tc.status || int(want.GetStatus().GetCode()) != tc.status || string(a.Reply.Body) != string(want.GetBody()) {
				t.Errorf("%s: module %d %s, ext_proc %d %s", tc.what, a.Reply.Status, a.Reply.Body, want.GetStatus().GetCode(), want.GetBody())
			}
			continue
		}
		if te != nil || a.Reply != nil {
			t.Fatalf("%s: ext_proc %v, module reply %+v", tc.what, te, a.Reply)
		}
		want := resp.GetDynamicMetadata().GetFields()
		if len(a.Metadata) != len(want) {
			t.Fatalf("%s: namespaces %d, want %d", tc.what, len(a.Metadata), len(want))
		}
		for _, md := range a.Metadata {
			got := &structpb.Struct{}
			if err := proto.Unmarshal(md[1], got); err != nil {
				t.Fatal(err)
			}
			w := want[string(md[0])].GetStructValue()
			if string(md[0]) == contract.ContextMetadataNamespace {
				// The context's response-header map has no byte order:
				// compare the decoded contexts, without the filter's time.
				gc, err1 := decodeContext(got.Fields["ctx"].GetStringValue())
				wc, err2 := decodeContext(w.Fields["ctx"].GetStringValue())
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				gc.OverheadNanos, wc.OverheadNanos = 0, 0
				if !proto.Equal(gc, wc) {
					t.Errorf("%s: context\n got %v\nwant %v", tc.what, gc, wc)
				}
				wantHash := keystore.HashKey(tc.key)
				if tc.key == graced {
					wantHash = keystore.HashKey(renewed) // counts against the key that replaced it
				}
				if tc.key == "sk-master" {
					if gc.GetKeyHash() != "" || gc.GetEndUser() != "e1" {
						t.Errorf("%s: the context: %v", tc.what, gc)
					}
				} else if gc.GetKeyHash() != wantHash || gc.GetResponseHeaders()["x-litellm-key-spend"] == "" {
					t.Errorf("%s: the context does not carry the key: %v", tc.what, gc)
				}
				delete(got.Fields, "ctx")
				delete(w.Fields, "ctx")
			}
			if !proto.Equal(got, w) {
				t.Errorf("%s: namespace %s:\n got %v\nwant %v", tc.what, md[0], got, w)
			}
		}
	}
}

// TestModuleKeyRefusalsHandedOnWithSinks: with an outcome sink besides
// spend, a key the module would refuse goes to ext_proc (which refuses it and
// tells the sinks, LiteLLM's post-call failure hook).
func TestModuleKeyRefusalsHandedOnWithSinks(t *testing.T) {
	svc, _, _, view := moduleKeysSetup(t)
	cfg, log := moduleTestSetup(t)
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, OutcomesActive: true}, log)
	m.UseKeys(view)
	k := mgmt(t, svc, "/key/generate", `{"models":["gpt"]}`)["key"].(string)
	push(t, svc, view)
	h := moduleHeaders(k)
	if _, ok := m.Serve(h, []byte(`{"model":"solo","messages":[]}`), time.Now()); ok {
		t.Error("a refusal was answered by the module with a sink listening")
	}
	if a, ok := m.Serve(h, []byte(`{"model":"gpt","messages":[]}`), time.Now()); !ok || a.Reply != nil {
		t.Errorf("the key's model: served %v reply %+v", ok, a.Reply)
	}
}

// TestModuleKeyLookupAllocations: finding a key by its sha256 allocates
// nothing, with 1,000 keys in the table.
func TestModuleKeyLookupAllocations(t *testing.T) {
	svc, _, m, view := moduleKeysSetup(t)
	var k string
	for i := 0; i < 1000; i++ {
		k = mgmt(t, svc, "/key/generate", `{}`)["key"].(string)
	}
	push(t, svc, view)
	h := moduleHeaders(k)
	if allocs := testing.AllocsPerRun(100, func() {
		if id, e := m.st.authenticate(h, true); e != nil || id.token == "" {
			t.Fatal("not found")
		}
	}); allocs != 0 {
		t.Errorf("key lookup: %v allocations, want 0", allocs)
	}
}

// BenchmarkModuleServeKeys is BenchmarkModuleServe for the master key and a
// virtual key of a 1,000-key table.
func BenchmarkModuleServeKeys(b *testing.B) {
	for _, who := range []string{"master", "virtual"} {
		b.Run(who, func(b *testing.B) {
			svc, _, m, view := moduleKeysSetup(b)
			var k string
			for i := 0; i < 1000; i++ {
				k = mgmt(b, svc, "/key/generate", `{"models":["gpt"],"max_budget":1000000}`)["key"].(string)
			}
			push(b, svc, view)
			if who == "master" {
				k = "sk-master"
			}
			h := moduleHeaders(k)
			body := []byte(`{"model":"gpt","messages":[{"role":"user","content":"hello there"}],"temperature":0.2}`)
			b.ReportAllocs()
			for b.Loop() {
				if a, ok := m.Serve(h, body, time.Now()); !ok || a.Reply != nil {
					b.Fatal("not served")
				}
			}
		})
	}
}
