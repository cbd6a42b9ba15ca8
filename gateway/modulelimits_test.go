package gateway

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/store"
)

// tableConn is a lease stream that keeps the tables the gateway sent.
type tableConn struct {
	mu     sync.Mutex
	tables []extproc.LeaseTable
}

func (c *tableConn) SendMsg(m any) error {
	var t extproc.LeaseTable
	if err := json.Unmarshal(m.(*wrapperspb.BytesValue).GetValue(), &t); err != nil {
		return err
	}
	c.mu.Lock()
	c.tables = append(c.tables, t)
	c.mu.Unlock()
	return nil
}

func (c *tableConn) RecvMsg(any) error { select {} }

func (c *tableConn) last(t *testing.T) extproc.LeaseTable {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tables) == 0 {
		t.Fatal("no table sent")
	}
	return c.tables[len(c.tables)-1]
}

func (c *tableConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tables)
}

func leaseModel(t *testing.T, src string) *model.Model {
	t.Helper()
	cfg, err := config.Parse([]byte(src), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return model.Compile(cfg)
}

// leaseFixture is a leaser on a memory store of config src at a fixed
// clock, with one module connection that keeps its tables, and the
// gateway's store over it (leaseViewStore).
type leaseFixture struct {
	m   *model.Model
	mem *store.Memory
	lz  *leaser
	c   *tableConn
	st  *leaseViewStore
}

func newLeaseFixture(t *testing.T, now *time.Time, src string) *leaseFixture {
	t.Helper()
	clock := func() time.Time { return *now }
	f := &leaseFixture{m: leaseModel(t, src), mem: store.NewMemory(clock), c: &tableConn{}}
	f.lz = newLeaser(f.mem, f.mem, func() *model.Model { return f.m })
	f.lz.now = clock
	f.lz.conns[&leaseConn{s: f.c}] = true
	f.st = &leaseViewStore{Store: f.mem, lz: f.lz}
	return f
}

// TestLeaseViewCountsBegin (D72): a try the ext_proc path counts in the
// store (Begin) on a leased deployment is in the table the module gets
// before Begin returns, so that the module's x-ratelimit-remaining-requests
// never reads the try as unused (it read 1–2 high for up to 100 ms:
// TestRouterFailures "usage headers" saw 300 → 296 after 5 requests).
func TestLeaseViewCountsBegin(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 10, 0, time.UTC)
	f := newLeaseFixture(t, &now, `
model_list:
  - model_name: limits
    litellm_params: {model: openai/gpt-4o, api_base: http://a/v1, api_key: k, rpm: 100}
  - model_name: other
    litellm_params: {model: openai/gpt-4o, api_base: http://b/v1, api_key: k}
`)
	lz, c, st := f.lz, f.c, f.st
	var id, other string
	for _, d := range f.m.Deployments {
		if d.Group == "limits" {
			id = d.ID
		} else {
			other = d.ID
		}
	}
	ctx := context.Background()
	lz.round(ctx, true)
	d := c.last(t).Deps[id]
	if d.Granted != 1 || d.RPM != 1 {
		t.Fatalf("first table: %+v, want a lease of 1 counted in the view", d)
	}
	res, err := st.Begin(ctx, id, store.Limits{RPM: 100})
	if err != nil || !res.Allowed || res.RPM != 2 {
		t.Fatalf("Begin: %+v %v", res, err)
	}
	if got := c.last(t).Deps[id]; got.RPM != 2 || got.Granted != 1 {
		t.Errorf("the table after the ext_proc path's Begin: %+v, want RPM 2 (the lease and the try), sent before Begin returned", got)
	}
	// A deployment the module keeps no window for sends nothing.
	n := c.count()
	if _, err := st.Begin(ctx, other, store.Limits{}); err != nil {
		t.Fatal(err)
	}
	if c.count() != n {
		t.Errorf("a Begin on a deployment without a window sent a table")
	}
}

// TestLeaseOnDemand (D72): a deployment with an rpm limit under
// LeaseOnDemandRPM gets no lease in a minute until this instance's module
// wanted one; then it is leased one at a time, never its last requests.
func TestLeaseOnDemand(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 10, 0, time.UTC)
	f := newLeaseFixture(t, &now, `
model_list:
  - model_name: small
    litellm_params: {model: openai/gpt-4o, api_base: http://a/v1, api_key: k, rpm: 10}
`)
	lz, c, st := f.lz, f.c, f.st
	id := f.m.Deployments[0].ID
	ctx := context.Background()
	lz.round(ctx, true)
	if d := c.last(t).Deps[id]; d.Limit != 10 || d.Granted != 0 || d.RPM != 0 {
		t.Fatalf("before any try: %+v, want the window without a lease", d)
	}
	// A try the ext_proc path counts is no demand (a plan the module
	// does not charge, D72).
	if res, err := st.Begin(ctx, id, store.Limits{RPM: 10}); err != nil || !res.Allowed {
		t.Fatalf("Begin: %+v %v", res, err)
	}
	lz.round(ctx, false)
	if d := c.last(t).Deps[id]; d.Granted != 0 || d.RPM != 1 {
		t.Fatalf("after an ext_proc try: %+v, want no lease, the try counted", d)
	}
	// The module handed a request on for want of a lease: leased one at
	// a time, up to the limit less its reserve (the last ones counted one
	// by one by Begin).
	minute := now.Unix() / 60
	for used := int64(0); used < 10; used++ {
		lz.report(&extproc.LeaseUse{Deps: map[string]extproc.LeaseUsed{id: {Minute: minute, Limit: 10, Used: used, Want: true}}})
		lz.round(ctx, false)
	}
	if d := c.last(t).Deps[id]; d.Granted != 10-leaseReserve(10)-1 || d.RPM != 10-leaseReserve(10) {
		t.Fatalf("leased on demand: %+v, want %d granted beside the try", d, 10-leaseReserve(10)-1)
	}
	// A new minute starts without a lease again.
	now = now.Add(time.Minute)
	lz.round(ctx, true)
	if d := c.last(t).Deps[id]; d.Granted != 0 || d.RPM != 0 {
		t.Fatalf("the next minute: %+v, want no lease", d)
	}
}

// TestLeaseInFlightFromModule (D77): when the module counts every try in
// flight, the gateway's Begin no longer counts max_parallel_requests (one
// count per try: a try the module let go is never refused again), the
// module's reports are the in-flight counts the gateway's plans read, and
// a deployment with max_parallel_requests is leased (its rpm in the module).
func TestLeaseInFlightFromModule(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 10, 0, time.UTC)
	f := newLeaseFixture(t, &now, `
model_list:
  - model_name: par
    litellm_params: {model: openai/gpt-4o, api_base: http://a/v1, api_key: k, rpm: 1000, max_parallel_requests: 1}
`)
	f.lz.inflight = true
	id := f.m.Deployments[0].ID
	ctx := context.Background()
	f.lz.round(ctx, true)
	if d := f.c.last(t).Deps[id]; d.Limit != 1000 || d.Granted < 1 {
		t.Fatalf("a deployment with max_parallel_requests and rpm: %+v, want leased", d)
	}
	for i := range 2 {
		if res, err := f.st.Begin(ctx, id, store.Limits{RPM: 1000, MaxParallel: 1}); err != nil || !res.Allowed {
			t.Fatalf("Begin %d with the module counting in flight: %+v %v", i, res, err)
		}
	}
	f.lz.report(&extproc.LeaseUse{InFlight: map[string]int64{id: 3}})
	got, err := f.st.Read(ctx, []string{id}, store.ReadOptions{})
	if err != nil || got[id].InFlight != 3 {
		t.Fatalf("Read: %+v %v, want the module's 3 in flight", got[id], err)
	}
	// A report without the deployment: nothing in flight any more.
	f.lz.report(&extproc.LeaseUse{})
	if got, _ := f.st.Read(ctx, []string{id}, store.ReadOptions{}); got[id].InFlight != 0 {
		t.Fatalf("after a report without it: %d in flight, want 0", got[id].InFlight)
	}
	// Other ids counted in the store (virtual keys' limits) keep theirs.
	for i, want := range []bool{true, false} {
		if res, _ := f.st.Begin(ctx, "key:abc", store.Limits{MaxParallel: 1}); res.Allowed != want {
			t.Fatalf("Begin %d of a key with max_parallel_requests 1: allowed %v", i, res.Allowed)
		}
	}
	// Without the module counting, Begin refuses at the limit as before.
	f.lz.inflight = false
	if res, _ := f.st.Begin(ctx, id, store.Limits{RPM: 1000, MaxParallel: 1}); res.Allowed {
		t.Fatalf("Begin over max_parallel_requests allowed when the store counts")
	}
}

// TestLeaseKeyCounters (D83): a key's limit counter is viewed and leased
// only once the module asks for it, on the same store counter the ext_proc
// path's Begin counts in (strict: leases and Begin never pass the limit
// together); a small limit keeps its reserve for Begin; a tpm-only counter
// is viewed, not leased; an unknown counter is ignored; a counter idle for
// entityIdle is dropped; a new minute starts with the lease when the last
// one was used; a limit under 100 is viewed, never leased.
func TestLeaseKeyCounters(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 10, 0, time.UTC)
	f := newLeaseFixture(t, &now, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_base: http://a/v1, api_key: k}
`)
	lims := map[string][2]int64{"key:a": {100, 0}, "key:t": {0, 100}, "key:big": {1000, 0}, "key:small": {10, 0}}
	f.lz.entity.Store(&limitSource{func(id string) (int64, int64, bool) {
		l, ok := lims[id]
		return l[0], l[1], ok
	}})
	ctx := context.Background()
	minute := now.Unix() / 60
	f.lz.round(ctx, true)
	if n := len(f.c.last(t).Deps); n != 0 {
		t.Fatalf("counters in the table before the module asked: %d", n)
	}
	_, _ = f.mem.Record(ctx, store.Record{DeploymentID: "key:t", Tokens: 40, CooldownAfter: -1})
	want := extproc.LeaseUsed{Minute: minute, Want: true}
	f.lz.report(&extproc.LeaseUse{Deps: map[string]extproc.LeaseUsed{"key:a": want, "key:t": want, "key:big": want, "key:small": want, "key:none": want}})
	f.lz.round(ctx, false) // (a kick: the new counters are read at once)
	tb := f.c.last(t)
	if d := tb.Deps["key:a"]; d.Limit != 100 || d.Granted != 1 || d.RPM != 1 {
		t.Errorf("key:a: %+v, want a lease of 1 under limit 100", d)
	}
	if d, ok := tb.Deps["key:t"]; !ok || d.Limit != 0 || d.TPM != 40 {
		t.Errorf("key:t (tpm only): %+v, want viewed with its 40 tokens, not leased", d)
	}
	if d := tb.Deps["key:big"]; d.Granted != 1 {
		t.Errorf("key:big: %+v, want a lease", d)
	}
	if d, ok := tb.Deps["key:small"]; !ok || d.Limit != 10 || d.Granted != 0 {
		t.Errorf("key:small (rpm 10): %+v, want viewed under its limit, never leased", d)
	}
	if _, ok := tb.Deps["key:none"]; ok {
		t.Error("an unknown counter is in the table")
	}
	// The module spends key:a's lease; the gateway tops it up.
	f.lz.report(&extproc.LeaseUse{Deps: map[string]extproc.LeaseUsed{"key:a": {Minute: minute, Limit: 100, Used: 1}}})
	f.lz.round(ctx, false)
	if d := f.c.last(t).Deps["key:a"]; d.Granted != 2 {
		t.Errorf("key:a after its lease was spent: %+v, want 2 leased in all", d)
	}
	// A small limit is Begin's alone: exactly its limit, in the table at once.
	for i := 0; i < 12; i++ {
		_, _ = f.st.Begin(ctx, "key:small", store.Limits{RPM: 10})
	}
	st, _ := f.mem.Read(ctx, []string{"key:small"}, store.ReadOptions{})
	if st["key:small"].RPM != 10 {
		t.Errorf("the counter after 12 Begins: %d, want 10", st["key:small"].RPM)
	}
	if d := f.c.last(t).Deps["key:small"]; d.RPM != 10 {
		t.Errorf("the table after Begin: %+v, want RPM 10 sent before Begin returned", d)
	}
	// A new minute: key:a (used) is leased at once, no request handed on.
	now = now.Add(time.Minute)
	f.lz.round(ctx, true)
	if d := f.c.last(t).Deps["key:a"]; d.Minute != minute+1 || d.Granted != 1 {
		t.Errorf("key:a in the next minute: %+v, want a lease at once", d)
	}
	if d := f.c.last(t).Deps["key:big"]; d.Granted != 0 {
		t.Errorf("key:big (unused) in the next minute: %+v, want no lease until asked", d)
	}
	now = now.Add(entityIdle + time.Second)
	f.lz.round(ctx, true)
	if n := len(f.c.last(t).Deps); n != 0 {
		t.Errorf("%d counters still viewed after %v idle", n, entityIdle)
	}
}
