package keys

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
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
		// rpm/tpm limits are leased in the module (D83); parallel slots
		// are not: such a key stays out of the table.
		if body == `{"max_parallel_requests":1}` {
			if snapKey(sn, keystore.HashKey(l)) != nil || sn.HandedOn == 0 {
				t.Errorf("%s: a key with a parallel limit is in the table (%d handed on)", body, sn.HandedOn)
			}
		} else if snapKey(sn, keystore.HashKey(l)) == nil {
			t.Errorf("%s: a key with rpm/tpm limits is not in the table", body)
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

// BenchmarkSnapshot: the key table of 1,000 and 100,000 keys. gateway:
// built, split and encoded (every push); module-all: every part decoded and
// applied (the first push); module-shard: one shard decoded and applied (a
// push after one key changed).
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		s, _ := benchView(n)
		var parts [][]byte
		size := 0
		for _, p := range s.Snapshot().Split() {
			js, _ := json.Marshal(p)
			parts = append(parts, js)
			size += len(js)
		}
		b.Run(fmt.Sprintf("%d/gateway", n), func(b *testing.B) {
			for b.Loop() {
				for _, p := range s.Snapshot().Split() {
					if _, err := json.Marshal(p); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(size), "bytes")
		})
		apply := func(b *testing.B, v *Service, js []byte) {
			var p Snapshot
			if err := json.Unmarshal(js, &p); err != nil {
				b.Fatal(err)
			}
			v.ApplySnapshot(&p)
		}
		b.Run(fmt.Sprintf("%d/module-all", n), func(b *testing.B) {
			for b.Loop() {
				v := NewView()
				for _, js := range parts {
					apply(b, v, js)
				}
			}
		})
		b.Run(fmt.Sprintf("%d/module-shard", n), func(b *testing.B) {
			v := NewView()
			for _, js := range parts {
				apply(b, v, js)
			}
			for b.Loop() {
				apply(b, v, parts[1])
			}
			b.ReportMetric(float64(len(parts[1])), "bytes")
		})
	}
}

// TestSplitTable: a view fed the parts of a split table holds the whole
// table; a shard pushed again replaces its keys only (a key deleted from it
// is gone, the other shards' keys stay).
func TestSplitTable(t *testing.T) {
	s := newService(t, embedded(t), "")
	defer s.Close()
	var ks []string
	for i := 0; i < 200; i++ {
		ks = append(ks, generate(t, s, `{"models":["m"]}`))
	}
	old := ks[0]
	st, out := s.Handle(context.Background(), "POST", "/key/regenerate", fmt.Appendf(nil, `{"key":%q,"grace_period":"3650d"}`, old), Caller{Admin: true})
	if st != 200 {
		t.Fatalf("/key/regenerate: %d %s", st, out)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	ks[0] = m["key"].(string)
	view := NewView()
	parts := s.Snapshot().Split()
	if len(parts) != ViewShards+1 || parts[0].Part != -1 {
		t.Fatalf("parts %d, first %d", len(parts), parts[0].Part)
	}
	for _, p := range parts {
		js, _ := json.Marshal(p)
		var round Snapshot
		if err := json.Unmarshal(js, &round); err != nil {
			t.Fatal(err)
		}
		view.ApplySnapshot(&round)
	}
	if view.Len() != 200 {
		t.Fatalf("the view holds %d keys, want 200", view.Len())
	}
	for i, k := range append(ks, old) {
		sum := sha256.Sum256([]byte(k))
		tok, rec, ok := view.LookupSum(&sum)
		if !ok {
			t.Fatalf("key %s not found", k)
		}
		// The record found is the token's (Check.Key, D166); a
		// regenerated key's old value has none (AuthorizeRequest
		// resolves it).
		if i < len(ks) && (rec == nil || rec.Token != tok || tok != keystore.HashKey(k)) || i == len(ks) && rec != nil {
			t.Fatalf("key %d: token %s, record %+v", i, tok, rec)
		}
		if i < len(ks) {
			g1, e1 := view.AuthorizeRequest(context.Background(), Check{Token: tok, Presented: k, Models: []string{"m"}})
			g2, e2 := view.AuthorizeRequest(context.Background(), Check{Token: tok, Key: rec, Presented: k, Models: []string{"m"}})
			if e1 != nil || e2 != nil || g1 == nil || g2 == nil || !reflect.DeepEqual(g1, g2) {
				t.Fatalf("key %d: grant %+v %v looked up, %+v %v handed on", i, g1, e1, g2, e2)
			}
		}
	}
	gone := ks[1]
	if st, out := s.Handle(context.Background(), "POST", "/key/delete", fmt.Appendf(nil, `{"keys":[%q]}`, gone), Caller{Admin: true}); st != 200 {
		t.Fatalf("/key/delete: %d %s", st, out)
	}
	shard := Shard(keystore.HashKey(gone))
	view.ApplySnapshot(s.Snapshot().Split()[shard+1])
	if view.Len() != 199 {
		t.Fatalf("after the shard's push the view holds %d keys, want 199", view.Len())
	}
	for i, k := range append(ks, old) {
		sum := sha256.Sum256([]byte(k))
		if _, _, ok := view.LookupSum(&sum); ok != (i != 1) {
			t.Errorf("key %d: found %v", i, ok)
		}
	}
}
