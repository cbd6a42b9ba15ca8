package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// pushes collects what PublishView pushes.
func pushes(s *Service, every time.Duration) chan *Snapshot {
	ch := make(chan *Snapshot, 64)
	s.PublishView(func(sn *Snapshot) { ch <- sn }, every)
	return ch
}

// next is the next push within d (nil: none).
func next(ch chan *Snapshot, d time.Duration) *Snapshot {
	select {
	case sn := <-ch:
		return sn
	case <-time.After(d):
		return nil
	}
}

func snapKey(sn *Snapshot, token string) *keystore.Key {
	for _, k := range sn.Keys {
		if k.Token == token {
			return k
		}
	}
	return nil
}

// TestPublishView: the module's key table is pushed at once after a key
// change and after a spend crossing a max budget, not after a spend that
// crosses nothing (that waits for the spend interval); keys with limits are
// left out; the view runs the same checks as the cache.
func TestPublishView(t *testing.T) {
	s := newService(t, embedded(t), "")
	defer s.Close()
	ch := pushes(s, time.Hour)
	if sn := next(ch, 2*time.Second); sn == nil || len(sn.Keys) != 0 {
		t.Fatalf("first push: %+v", sn)
	}
	k := generate(t, s, `{"max_budget":1,"key_alias":"a","metadata":{"big":"x"}}`)
	tok := keystore.HashKey(k)
	sn := next(ch, 2*time.Second)
	if sn == nil || snapKey(sn, tok) == nil {
		t.Fatalf("after /key/generate: %+v", sn)
	}
	if kk := snapKey(sn, tok); kk.Metadata != nil || kk.KeyAlias != "a" {
		t.Errorf("projected key %+v", kk)
	}
	s.Record(SpendEvent{KeyToken: tok, Cost: 0.25})
	if sn := next(ch, 300*time.Millisecond); sn != nil {
		t.Fatalf("a spend under the budget was pushed at once: %+v", sn.Keys[0])
	}
	s.Record(SpendEvent{KeyToken: tok, Cost: 1})
	sn = next(ch, 2*time.Second)
	if sn == nil || snapKey(sn, tok).Spend != 1.25 {
		t.Fatalf("after the budget was crossed: %+v", sn)
	}
	view := NewView()
	js, _ := json.Marshal(sn)
	var round Snapshot
	if err := json.Unmarshal(js, &round); err != nil {
		t.Fatal(err)
	}
	view.ApplySnapshot(&round)
	ctx := context.Background()
	_, we := s.Authorize(ctx, tok, k, []string{"m"})
	_, ve := view.Authorize(ctx, tok, k, []string{"m"})
	if we == nil || ve == nil || *we != *ve || we.Type != "budget_exceeded" {
		t.Errorf("budget: cache %+v, view %+v", we, ve)
	}

	b := generate(t, s, `{}`)
	next(ch, 2*time.Second)
	st, out := s.Handle(ctx, "POST", "/key/block", fmt.Appendf(nil, `{"key":%q}`, b), Caller{Admin: true})
	if st != 200 {
		t.Fatalf("/key/block: %d %s", st, out)
	}
	sn = next(ch, 2*time.Second)
	if sn == nil || !snapKey(sn, keystore.HashKey(b)).Blocked {
		t.Fatalf("after /key/block: %+v", sn)
	}
	view.ApplySnapshot(sn)
	_, we = s.Authorize(ctx, keystore.HashKey(b), b, []string{"m"})
	_, ve = view.Authorize(ctx, keystore.HashKey(b), b, []string{"m"})
	if we == nil || ve == nil || *we != *ve || we.Status != 401 {
		t.Errorf("blocked: cache %+v, view %+v", we, ve)
	}

	for _, body := range []string{`{"rpm_limit":1}`, `{"tpm_limit":1}`, `{"max_parallel_requests":1}`, `{"user_id":"limited"}`} {
		if body == `{"user_id":"limited"}` {
			if st, out := s.Handle(ctx, "POST", "/user/new", []byte(`{"user_id":"limited","rpm_limit":3}`), Caller{Admin: true}); st != 200 {
				t.Fatalf("/user/new: %d %s", st, out)
			}
		}
		l := generate(t, s, body)
		gen := s.ViewGen()
		sn := next(ch, 2*time.Second)
		for sn != nil && sn.Gen < gen {
			sn = next(ch, 2*time.Second)
		}
		if sn == nil {
			t.Fatalf("%s: no push after /key/generate", body)
		}
		if snapKey(sn, keystore.HashKey(l)) != nil || sn.HandedOn == 0 {
			t.Errorf("%s: a key with limits is in the table (%d handed on)", body, sn.HandedOn)
		}
	}
}

// TestPublishViewSpendInterval: spend that crosses no budget is pushed after
// the spend interval.
func TestPublishViewSpendInterval(t *testing.T) {
	s := newService(t, embedded(t), "")
	defer s.Close()
	k := generate(t, s, `{}`)
	ch := pushes(s, 200*time.Millisecond)
	next(ch, 2*time.Second)
	s.Record(SpendEvent{KeyToken: keystore.HashKey(k), Cost: 0.5})
	sn := next(ch, 2*time.Second)
	if sn == nil || snapKey(sn, keystore.HashKey(k)).Spend != 0.5 {
		t.Fatalf("spend not pushed after the interval: %+v", sn)
	}
}

// BenchmarkSnapshot: the key table of 1,000 and 100,000 keys, built,
// encoded and applied (what a push costs both sides).
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := NewView()
			sn := &Snapshot{}
			for i := 0; i < n; i++ {
				mb := 10.0
				sn.Keys = append(sn.Keys, &keystore.Key{Token: keystore.HashKey(fmt.Sprintf("sk-%022d", i)), KeyAlias: fmt.Sprintf("app-%d", i),
					Models: []string{"gpt-4o", "gpt-4o-mini"}, MaxBudget: &mb, Spend: 1.5, TeamID: "team-1", UserID: fmt.Sprintf("user-%d", i%100)})
			}
			s.ApplySnapshot(sn)
			var size int
			for b.Loop() {
				js, err := json.Marshal(s.Snapshot())
				if err != nil {
					b.Fatal(err)
				}
				size = len(js)
				var round Snapshot
				if err := json.Unmarshal(js, &round); err != nil {
					b.Fatal(err)
				}
				NewView().ApplySnapshot(&round)
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}
