package keys

import (
	"context"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// fakeLeases is a module's leases and counter view: left is what this
// module holds unused of each counter's lease, rpm and tpm the store's
// counters (leases included); a counter absent from rpm is not in the view.
type fakeLeases struct {
	left, rpm, tpm map[string]int64
	wanted         map[string]bool
}

func newFakeLeases() *fakeLeases {
	return &fakeLeases{left: map[string]int64{}, rpm: map[string]int64{}, tpm: map[string]int64{}, wanted: map[string]bool{}}
}

func (f *fakeLeases) ChargeRPM(id string, lim int64) (bool, bool, int64) {
	r, ok := f.rpm[id]
	if !ok {
		f.wanted[id] = true
		return false, false, 0
	}
	if f.left[id] > 0 {
		f.left[id]--
		return true, false, r - f.left[id]
	}
	if r >= lim {
		return false, true, r
	}
	f.wanted[id] = true
	return false, false, 0
}

func (f *fakeLeases) RefundRPM(id string) { f.left[id]++ }

func (f *fakeLeases) TPM(id string) (int64, bool) {
	if _, ok := f.rpm[id]; !ok {
		f.wanted[id] = true
		return 0, false
	}
	return f.tpm[id], true
}

// TestViewKeyLimits (D83): a module's view checks a key's, its team's and
// user's rpm/tpm limits on its leases: served while a lease is left, with
// the gateway's x-litellm-key-remaining-* headers; refused with the
// gateway's very error once every instance is at the limit; handed on (the
// lease asked for, nothing kept charged) while the lease is spent with room
// in the store, a counter is not in the view, the view has no leases, or a
// parallel limit applies. CounterLimits names each entity's limits.
func TestViewKeyLimits(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	call(t, s, "POST", "/team/new", `{"team_id":"lt","rpm_limit":50,"tpm_limit":1000}`)
	call(t, s, "POST", "/user/new", `{"user_id":"lu","tpm_limit":500}`)
	k := generate(t, s, `{"rpm_limit":2,"tpm_limit":100,"key_alias":"lim","team_id":"lt","user_id":"lu"}`)
	par := generate(t, s, `{"max_parallel_requests":1}`)
	tok := keystore.HashKey(k)
	kid, tid, uid := CounterID(tok), "team:lt", "user:lu"

	// The gateway's cache on its counters: 2 served, the third refused.
	for i := range 2 {
		if _, e := s.Authorize(ctx, tok, k, []string{"m"}); e != nil {
			t.Fatalf("cache, request %d: %+v", i+1, e)
		}
	}
	_, want := s.Authorize(ctx, tok, k, []string{"m"})
	if want == nil || want.Status != 429 {
		t.Fatalf("cache: third request %+v, want a 429", want)
	}

	view := NewView()
	view.now, view.o.Now = s.now, s.now
	view.ApplySnapshot(s.Snapshot())
	if _, _, ok := view.Lookup(keystore.HashKey(par)); ok {
		t.Error("a key with max_parallel_requests is in the table")
	}
	if _, _, ok := view.Lookup(tok); !ok {
		t.Fatal("a key with rpm/tpm limits is not in the table")
	}
	if _, e := view.Authorize(ctx, tok, k, []string{"m"}); e != ErrHandOn {
		t.Fatalf("a view without leases: %+v, want ErrHandOn", e)
	}
	f := newFakeLeases()
	view.UseLeases(f)
	if _, e := view.Authorize(ctx, tok, k, []string{"m"}); e != ErrHandOn || !f.wanted[kid] || !f.wanted[tid] || !f.wanted[uid] {
		t.Fatalf("counters not in the view: %+v, asked for %v; want ErrHandOn and all three asked for", e, f.wanted)
	}
	// In the view: the key has a lease of 1 (store 1), the team plenty.
	f.rpm[kid], f.left[kid], f.tpm[kid] = 1, 1, 30
	f.rpm[tid], f.left[tid], f.tpm[tid] = 10, 10, 30
	f.rpm[uid], f.tpm[uid] = 0, 30
	g, e := view.Authorize(ctx, tok, k, []string{"m"})
	if e != nil {
		t.Fatalf("leased: %+v", e)
	}
	if g.Header("x-litellm-key-remaining-requests") != "1" || g.Header("x-litellm-key-remaining-tokens") != "70" {
		t.Errorf("headers %v, want remaining requests 1 (limit 2, 1 counted), tokens 70", g.Headers)
	}
	if got := g.Leased(); len(got) != 2 || got[0] != kid || got[1] != tid {
		t.Errorf("leased %v, want the key's and the team's counters", got)
	}
	// The key's lease spent, the store under the limit: handed on, the
	// team's charge given back.
	f.wanted = map[string]bool{}
	teamLeft := f.left[tid]
	if _, e := view.Authorize(ctx, tok, k, []string{"m"}); e != ErrHandOn || !f.wanted[kid] || f.left[tid] != teamLeft {
		t.Fatalf("spent lease: %+v, wanted %v, team left %d (was %d)", e, f.wanted, f.left[tid], teamLeft)
	}
	// Every instance at the limit: the gateway's refusal, word for word.
	f.rpm[kid] = 2
	_, e = view.Authorize(ctx, tok, k, []string{"m"})
	if e == nil || e.Status != want.Status || e.Type != want.Type || e.Code != want.Code || e.Param != want.Param || e.Message != want.Message || e.RetryAfter != want.RetryAfter {
		t.Fatalf("at the limit: view %+v, cache %+v", e, want)
	}
	if f.left[tid] != teamLeft {
		t.Errorf("a refusal kept the team's charge (left %d, was %d)", f.left[tid], teamLeft)
	}
	// tpm from the view: the user's 500 reached.
	f.rpm[kid], f.left[kid] = 1, 1
	f.tpm[uid] = 500
	if _, e := view.Authorize(ctx, tok, k, []string{"m"}); e == nil || e.Status != 429 || e.Message != "LiteLLM Rate Limit Handler for rate limit type = user. Crossed TPM / RPM / Max Parallel Request Limit. current tpm: 500, tpm limit: 500, user=lu" {
		t.Fatalf("user tpm reached: %+v", e)
	}

	for id, want := range map[string][2]int64{kid: {2, 100}, tid: {50, 1000}, uid: {0, 500}} {
		rpm, tpm, ok := s.CounterLimits(id)
		if !ok || rpm != want[0] || tpm != want[1] {
			t.Errorf("CounterLimits(%s) = %d, %d, %v; want %v", id, rpm, tpm, ok, want)
		}
	}
	if _, _, ok := s.CounterLimits("team:none"); ok {
		t.Error("CounterLimits of an unknown team")
	}
}
