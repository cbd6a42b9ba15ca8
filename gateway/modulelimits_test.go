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

// TestLeaseViewCountsBegin (D72): a try the ext_proc path counts in the
// store (Begin) on a leased deployment is in the table the module gets
// before Begin returns, so that the module's x-ratelimit-remaining-requests
// never reads the try as unused (it read 1–2 high for up to 100 ms:
// TestRouterFailures "usage headers" saw 300 → 296 after 5 requests).
func TestLeaseViewCountsBegin(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 10, 0, time.UTC)
	clock := func() time.Time { return now }
	mem := store.NewMemory(clock)
	m := leaseModel(t, `
model_list:
  - model_name: limits
    litellm_params: {model: openai/gpt-4o, api_base: http://a/v1, api_key: k, rpm: 100}
  - model_name: other
    litellm_params: {model: openai/gpt-4o, api_base: http://b/v1, api_key: k}
`)
	var id, other string
	for _, d := range m.Deployments {
		if d.Group == "limits" {
			id = d.ID
		} else {
			other = d.ID
		}
	}
	lz := newLeaser(mem, mem, func() *model.Model { return m })
	lz.now = clock
	c := &tableConn{}
	lz.conns[&leaseConn{s: c}] = true
	ctx := context.Background()
	lz.round(ctx, true)
	d := c.last(t).Deps[id]
	if d.Granted != 1 || d.RPM != 1 {
		t.Fatalf("first table: %+v, want a lease of 1 counted in the view", d)
	}
	st := &leaseViewStore{Store: mem, lz: lz}
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
	clock := func() time.Time { return now }
	mem := store.NewMemory(clock)
	m := leaseModel(t, `
model_list:
  - model_name: small
    litellm_params: {model: openai/gpt-4o, api_base: http://a/v1, api_key: k, rpm: 10}
`)
	id := m.Deployments[0].ID
	lz := newLeaser(mem, mem, func() *model.Model { return m })
	lz.now = clock
	c := &tableConn{}
	lz.conns[&leaseConn{s: c}] = true
	ctx := context.Background()
	lz.round(ctx, true)
	if d := c.last(t).Deps[id]; d.Limit != 10 || d.Granted != 0 || d.RPM != 0 {
		t.Fatalf("before any try: %+v, want the window without a lease", d)
	}
	// A try the ext_proc path counts is no demand (a plan the module
	// does not charge, D72).
	st := &leaseViewStore{Store: mem, lz: lz}
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
