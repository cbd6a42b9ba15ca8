package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// applyParts decodes parts as the module does and applies them to v.
func applyParts(t testing.TB, v *Service, parts [][]byte, changed []bool, gen uint64) {
	t.Helper()
	for i, p := range parts {
		if changed != nil && !changed[i] || p == nil {
			continue
		}
		var sn Snapshot
		if err := json.Unmarshal(WithGen(p, gen, 1), &sn); err != nil {
			t.Fatal(err)
		}
		if sn.Gen != gen || sn.At != 1 {
			t.Fatalf("part %d: gen %d at %d", i, sn.Gen, sn.At)
		}
		v.ApplySnapshot(&sn)
	}
}

func changedParts(changed []bool) []int {
	var out []int
	for i, c := range changed {
		if c {
			out = append(out, i)
		}
	}
	return out
}

// TestEncodePartsCache (D68, D78): a push encodes and sends only what one
// of the table's inputs changed — a key's record, its spend, its model
// windows, whether it is in the table (its team's limits) —, as its shard's
// overlay, and looks at the changed keys only; the change reaches the
// module; a cache reload that changes nothing encodes nothing, one that
// changes a key encodes its shard's overlay; a config change (access groups)
// changes the common part.
func TestEncodePartsCache(t *testing.T) {
	ctx := context.Background()
	ks := embedded(t)
	s := newService(t, ks, "")
	defer s.Close()
	call(t, s, "POST", "/team/new", `{"team_id":"t1"}`)
	var keys []string
	for i := 0; i < 300; i++ {
		body := `{}`
		if i%10 == 0 {
			body = `{"team_id":"t1"}`
		}
		keys = append(keys, generate(t, s, body))
	}
	var enc PartsEncoder
	gen, parts, changed, err := s.EncodeParts(&enc)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Encoded != ViewShards || len(changedParts(changed)) != ViewShards+1 || enc.Looked != 300 {
		t.Fatalf("first encoding: %d shards encoded, changed %v", enc.Encoded, changedParts(changed))
	}
	view := NewView()
	applyParts(t, view, parts, nil, gen)
	if view.Len() != 300 {
		t.Fatalf("view holds %d keys", view.Len())
	}
	// Nothing changed: nothing encoded, nothing to send.
	if _, _, changed, _ := s.EncodeParts(&enc); enc.Encoded != 0 || len(changedParts(changed)) != 0 || enc.Looked != 0 {
		t.Fatalf("unchanged table: %d shards encoded, %d keys looked at, changed %v", enc.Encoded, enc.Looked, changedParts(changed))
	}
	// One key's spend: its shard's overlay only, one key looked at.
	tok := keystore.HashKey(keys[1])
	s.Record(SpendEvent{KeyToken: tok, ModelGroup: "m", Cost: 0.5})
	gen, parts, changed, _ = s.EncodeParts(&enc)
	if want := []int{ViewShards + 1 + Shard(tok)}; enc.Encoded != 0 || enc.Overlays != 1 || enc.Looked != 1 || fmt.Sprint(changedParts(changed)) != fmt.Sprint(want) {
		t.Fatalf("one key's spend: %d shards encoded, %d overlays, %d keys looked at, changed %v, want %v", enc.Encoded, enc.Overlays, enc.Looked, changedParts(changed), want)
	}
	applyParts(t, view, parts, changed, gen)
	if _, spend, ok := view.Lookup(tok); !ok || spend != 0.5 {
		t.Fatalf("the module's view after the push: %v %v", spend, ok)
	}
	// One key blocked: its shard's overlay only, and the module refuses it.
	blocked := keys[2]
	call(t, s, "POST", "/key/block", `{"key":"`+blocked+`"}`)
	gen, parts, changed, _ = s.EncodeParts(&enc)
	if enc.Encoded != 0 || len(changedParts(changed)) != 1 || !changed[ViewShards+1+Shard(keystore.HashKey(blocked))] {
		t.Fatalf("one key blocked: %d shards encoded, changed %v", enc.Encoded, changedParts(changed))
	}
	applyParts(t, view, parts, changed, gen)
	if _, e := view.Authorize(ctx, keystore.HashKey(blocked), blocked, []string{"m"}); e == nil || e.Status != 401 {
		t.Fatalf("the module's view serves the blocked key: %+v", e)
	}
	// The team gains max_parallel_requests (D83: rpm/tpm no longer do): its
	// keys leave the table (their records
	// did not change; the limits did: every key looked at, only the shards
	// of its 30 keys sent, as overlays or bases).
	call(t, s, "POST", "/team/update", `{"team_id":"t1","max_parallel_requests":10}`)
	want := map[int]bool{}
	for i := 0; i < 300; i += 10 {
		want[Shard(keystore.HashKey(keys[i]))] = true
	}
	gen, parts, changed, _ = s.EncodeParts(&enc)
	if enc.Looked != 300 || !changed[0] {
		t.Fatalf("team limits: %d keys looked at, common part changed %v", enc.Looked, changed[0])
	}
	got := map[int]bool{}
	for _, i := range changedParts(changed) {
		if i > 0 {
			got[(i-1)%ViewShards] = true
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("team limits: shards sent %v, want its keys' %v", got, want)
	}
	applyParts(t, view, parts, changed, gen)
	if view.Len() != 270 {
		t.Fatalf("view holds %d keys after the team's limit, want 270", view.Len())
	}
	if _, _, ok := view.Lookup(keystore.HashKey(keys[10])); ok {
		t.Fatal("a key of the limited team is still in the module's table")
	}
	// A reload of the cache from the store that changes nothing re-encodes
	// nothing; a key changed in the store (another instance) re-encodes its
	// shard.
	if err := s.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, changed, _ := s.EncodeParts(&enc); enc.Encoded != 0 || len(changedParts(changed)) != 0 || enc.Looked != 0 {
		t.Fatalf("reload without changes: %d shards encoded, %d keys looked at, changed %v", enc.Encoded, enc.Looked, changedParts(changed))
	}
	other := keystore.HashKey(keys[3])
	k, err := ks.GetKey(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	k.Models = []string{"only-this"}
	must(t, ks.PutKey(ctx, k))
	must(t, s.refresh(ctx))
	gen, parts, changed, _ = s.EncodeParts(&enc)
	if enc.Looked != 1 || len(changedParts(changed)) != 1 || !changed[Shard(other)+1] && !changed[ViewShards+1+Shard(other)] {
		t.Fatalf("reload with one key changed: %d keys looked at, changed %v", enc.Looked, changedParts(changed))
	}
	applyParts(t, view, parts, changed, gen)
	if _, e := view.Authorize(ctx, other, keys[3], []string{"m"}); e == nil || e.Type != "key_model_access_denied" {
		t.Fatalf("the module's view after the reload: %+v", e)
	}
	// A config change (access groups): the common part.
	s.SetAccessGroups(map[string][]string{"g": {"m"}})
	if _, _, changed, _ := s.EncodeParts(&enc); enc.Encoded != 0 || fmt.Sprint(changedParts(changed)) != "[0]" {
		t.Fatalf("access groups: %d shards encoded, changed %v", enc.Encoded, changedParts(changed))
	}
	// The parts equal Snapshot().Split()'s table.
	_, parts, _, _ = s.EncodeParts(&enc)
	v2, v3 := NewView(), NewView()
	applyParts(t, v2, parts, nil, 1)
	for _, p := range s.Snapshot().Split() {
		v3.ApplySnapshot(p)
	}
	if v2.Len() != v3.Len() || v2.Len() != 270 {
		t.Fatalf("EncodeParts' table %d keys, Snapshot's %d", v2.Len(), v3.Len())
	}
}

// BenchmarkEncodeParts: the gateway's work per push of a 100,000-key table:
// every shard (the first push), and one key's spend changed. Compare with
// BenchmarkSnapshot's gateway figure (every part built and encoded).
func BenchmarkEncodeParts(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		s, sn := benchView(n)
		b.Run(fmt.Sprintf("%d/all", n), func(b *testing.B) {
			for b.Loop() {
				var e PartsEncoder
				if _, _, _, err := s.EncodeParts(&e); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%d/one-key-changed", n), func(b *testing.B) {
			var e PartsEncoder
			_, _, _, _ = s.EncodeParts(&e)
			tok := sn.Keys[0].Token
			i := 0
			for b.Loop() {
				i++
				setSpendForBench(s, tok, float64(i))
				if _, _, _, err := s.EncodeParts(&e); err != nil || e.Encoded+e.Overlays != 1 {
					b.Fatal(err, e.Encoded, e.Overlays)
				}
			}
		})
		_ = time.Now
	}
}
