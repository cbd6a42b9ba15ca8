package keys

import (
	"context"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// TestModuleSlots (D117): with SetModuleSlots a key with
// max_parallel_requests (its own, or its team's) is in the module's table;
// the view's TakeSlots holds one slot of each limit up to the limit and
// names the entity at it; the view's checks refuse a request the module
// found at a limit with LiteLLM's v3 words for a key and the v1 words for a
// team, and count nothing for a held one; the gateway's checks believe the
// header only with SetModuleSlots (otherwise they count in the store).
func TestModuleSlots(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	call(t, s, "POST", "/team/new", `{"team_id":"pt","max_parallel_requests":3}`)
	k := generate(t, s, `{"max_parallel_requests":2,"team_id":"pt"}`)
	k2 := generate(t, s, `{"team_id":"pt"}`)
	tok, tok2 := keystore.HashKey(k), keystore.HashKey(k2)
	if snapKey(s.Snapshot(), tok) != nil {
		t.Fatal("a key with max_parallel_requests is in the table without SetModuleSlots")
	}
	s.SetModuleSlots(true)
	sn := s.Snapshot()
	if snapKey(sn, tok) == nil || snapKey(sn, tok2) == nil {
		t.Fatal("with SetModuleSlots the keys with parallel limits are not in the table")
	}
	view := NewView()
	view.now, view.o.Now = s.now, s.now
	view.ApplySnapshot(sn)

	a, ha := view.TakeSlots(tok)
	b, hb := view.TakeSlots(tok)
	_, hc := view.TakeSlots(tok)
	if a == nil || b == nil || ha != SlotHeld || hb != SlotHeld || hc != "full key:"+tok+" 2" {
		t.Fatalf("two slots of 2, then %q; want held, held, full at 2", hc)
	}
	g, e := view.AuthorizeRequest(ctx, Check{Token: tok, Presented: k, Models: []string{"m"}, Slot: hb})
	if e != nil || g == nil || g.Parallel {
		t.Fatalf("held: %+v %+v, want a grant that holds no store slot", g, e)
	}
	_, e = view.AuthorizeRequest(ctx, Check{Token: tok, Presented: k, Models: []string{"m"}, Slot: hc})
	want := "Rate limit exceeded for api_key: " + tok + ". Limit type: max_parallel_requests. Current limit: 2, Remaining: 0. Limit resets at: "
	if e == nil || e.Status != 429 || !strings.HasPrefix(e.Message, want) || e.RetryAfter.Seconds() != 60 {
		t.Fatalf("full: %+v, want a 429 %q…, retry-after 60 s", e, want)
	}
	if _, e := view.AuthorizeRequest(ctx, Check{Token: tok, Presented: k, Models: []string{"m"}}); e != ErrHandOn {
		t.Fatalf("no slot header: %+v, want a hand-on", e)
	}
	// The team's 3: two of k held, one of k2; a second of k2 is refused.
	c, _ := view.TakeSlots(tok2)
	_, hd := view.TakeSlots(tok2)
	if hd != "full team:pt 3" {
		t.Fatalf("the team's fourth slot: %q", hd)
	}
	_, e = view.AuthorizeRequest(ctx, Check{Token: tok2, Presented: k2, Models: []string{"m"}, Slot: hd})
	if e == nil || e.Status != 429 || !strings.Contains(e.Message, "rate limit type = team. Crossed TPM / RPM / Max Parallel Request Limit. current max_parallel_requests: 3, max_parallel_requests limit: 3") {
		t.Fatalf("team full: %+v", e)
	}
	a.Release()
	if d, h := view.TakeSlots(tok2); h != SlotHeld {
		t.Fatalf("after a release: %q", h)
	} else {
		d.Release()
	}
	b.Release()
	c.Release()

	// The gateway: believed with SetModuleSlots (no store slot), else not.
	g, e = s.AuthorizeRequest(ctx, Check{Token: tok, Presented: k, Models: []string{"m"}, Slot: SlotHeld})
	if e != nil || g.Parallel {
		t.Fatalf("gateway, held: %+v %+v, want no store slot", g, e)
	}
	_, e = s.AuthorizeRequest(ctx, Check{Token: tok, Presented: k, Models: []string{"m"}, Slot: hc})
	if e == nil || !strings.HasPrefix(e.Message, want) {
		t.Fatalf("gateway, full: %+v", e)
	}
	s.SetModuleSlots(false)
	g, e = s.AuthorizeRequest(ctx, Check{Token: tok, Presented: k, Models: []string{"m"}, Slot: hc})
	if e != nil || !g.Parallel {
		t.Fatalf("gateway without module slots: %+v %+v, want the header ignored and a store slot", g, e)
	}
	s.End(ctx, g.Token)
}
