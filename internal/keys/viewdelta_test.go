package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// sameTable fails unless the module's view v holds exactly the table of
// the gateway's cache s: Snapshot() (every key looked at), through JSON as
// the module reads it.
func sameTable(t *testing.T, what string, s, v *Service) {
	t.Helper()
	js, err := json.Marshal(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var sn Snapshot
	if err := json.Unmarshal(js, &sn); err != nil {
		t.Fatal(err)
	}
	want := NewView()
	want.ApplySnapshot(&sn)
	want.mu.RLock()
	defer want.mu.RUnlock()
	v.mu.RLock()
	defer v.mu.RUnlock()
	if len(v.keys) != len(want.keys) {
		t.Fatalf("%s: the module's table has %d keys, the gateway's %d", what, len(v.keys), len(want.keys))
	}
	for tok, k := range want.keys {
		got, ok := v.keys[tok]
		if !ok {
			t.Fatalf("%s: key %s missing from the module's table", what, tok[:8])
		}
		if !reflect.DeepEqual(got, k) || v.spend[tok] != want.spend[tok] {
			t.Fatalf("%s: key %s differs:\nmodule  %+v (spend %v)\ngateway %+v (spend %v)", what, tok[:8], got, v.spend[tok], k, want.spend[tok])
		}
		if !reflect.DeepEqual(v.mwin[winRef{winKey, tok}], want.mwin[winRef{winKey, tok}]) {
			t.Fatalf("%s: key %s's windows differ: %+v / %+v", what, tok[:8], v.mwin[winRef{winKey, tok}], want.mwin[winRef{winKey, tok}])
		}
	}
	if len(v.deprecated) != len(want.deprecated) {
		t.Fatalf("%s: deprecated tokens %d, want %d", what, len(v.deprecated), len(want.deprecated))
	}
	for tok, d := range want.deprecated {
		if g, ok := v.deprecated[tok]; !ok || g.ActiveToken != d.ActiveToken || !g.RevokeAt.Equal(d.RevokeAt) {
			t.Fatalf("%s: deprecated token %s: %+v, want %+v", what, tok[:8], g, d)
		}
	}
	if len(v.teams) != len(want.teams) || len(v.users) != len(want.users) || len(v.members) != len(want.members) || len(v.budgets) != len(want.budgets) {
		t.Fatalf("%s: the common part differs: teams %d/%d users %d/%d members %d/%d budgets %d/%d", what,
			len(v.teams), len(want.teams), len(v.users), len(want.users), len(v.members), len(want.members), len(v.budgets), len(want.budgets))
	}
}

// TestEncodePartsExact (D78): the module's table, fed only the parts each
// push changed (a shard's overlay, or its base when re-based), stays exactly
// the gateway's table through random adds, updates, deletes, blocks and
// unblocks, expiries, spend, model budget windows, regenerations with a
// grace period and team limits taking keys out and back; also when the
// module sees only every third push's latest parts (SotW: a resource's last
// state) and receives a push's parts in reverse order (an overlay before
// the base it names). A push after one key's change looks at that key only.
func TestEncodePartsExact(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	call(t, s, "POST", "/team/new", `{"team_id":"t1"}`)
	call(t, s, "POST", "/team/new", `{"team_id":"t2","models":["m","w"]}`)
	rng := rand.New(rand.NewSource(7))
	var live []string
	gen := func() {
		body := `{}`
		switch rng.Intn(4) {
		case 0:
			body = `{"team_id":"t1","user_id":"u` + fmt.Sprint(rng.Intn(3)) + `"}`
		case 1:
			body = `{"team_id":"t2","model_max_budget":{"w":{"budget_limit":5,"time_period":"1d"}}}`
		}
		live = append(live, generate(t, s, body))
	}
	for range 200 {
		gen()
	}
	var enc PartsEncoder
	g, parts, _, err := s.EncodeParts(&enc)
	if err != nil {
		t.Fatal(err)
	}
	mod, late := NewView(), NewView()
	applyParts(t, mod, parts, nil, g)
	applyParts(t, late, parts, nil, g)
	sameTable(t, "first push", s, mod)
	// One key's spend: one overlay, one key looked at.
	s.Record(SpendEvent{KeyToken: keystore.HashKey(live[0]), ModelGroup: "m", Cost: 0.25})
	g, parts, changed, _ := s.EncodeParts(&enc)
	if enc.Looked != 1 || enc.Encoded != 0 || fmt.Sprint(changedParts(changed)) != fmt.Sprint([]int{ViewShards + 1 + Shard(keystore.HashKey(live[0]))}) {
		t.Fatalf("one key's spend: looked at %d keys, %d bases, changed %v", enc.Looked, enc.Encoded, changedParts(changed))
	}
	applyParts(t, mod, parts, changed, g)
	sameTable(t, "one key's spend", s, mod)
	latest := map[int][]byte{}
	for _, j := range changedParts(changed) {
		latest[j] = parts[j]
	}
	rebased := 0
	for step := range 400 {
		i := rng.Intn(len(live))
		k := live[i]
		tok := keystore.HashKey(k)
		op := rng.Intn(12)
		switch op {
		case 0:
			gen()
		case 1:
			call(t, s, "POST", "/key/delete", `{"keys":["`+k+`"]}`)
			live = append(live[:i], live[i+1:]...)
		case 2:
			call(t, s, "POST", "/key/block", `{"key":"`+k+`"}`)
		case 3:
			call(t, s, "POST", "/key/unblock", `{"key":"`+k+`"}`)
		case 4:
			call(t, s, "POST", "/key/update", `{"key":"`+k+`","duration":"`+fmt.Sprint(1+rng.Intn(5))+`h","models":["m"]}`)
		case 5:
			call(t, s, "POST", "/key/update", `{"key":"`+k+`","max_budget":`+fmt.Sprint(rng.Intn(3))+`}`)
		case 6:
			st, out := s.Handle(ctx, "POST", "/key/"+k+"/regenerate", []byte(`{"grace_period":"1h"}`), Caller{Admin: true})
			var m map[string]any
			if st != 200 || json.Unmarshal(out, &m) != nil {
				t.Fatalf("regenerate: %d %s", st, out)
			}
			live[i] = m["key"].(string)
		case 7:
			if step%50 == 7 {
				// A team's limit takes its keys out of the table; lifted, back in.
				call(t, s, "POST", "/team/update", `{"team_id":"t1","rpm_limit":`+fmt.Sprint(step%100/50*10)+`}`)
			}
		default:
			s.Record(SpendEvent{RequestID: fmt.Sprint("r", step), KeyToken: tok, ModelGroup: []string{"m", "w"}[rng.Intn(2)], Cost: float64(rng.Intn(100)) / 1000})
		}
		g, parts, changed, err := s.EncodeParts(&enc)
		if err != nil {
			t.Fatal(err)
		}
		rebased += enc.Encoded
		// Reverse order: an overlay may come before the base it names.
		for j := len(parts) - 1; j >= 0; j-- {
			if changed[j] {
				var sn Snapshot
				if err := json.Unmarshal(WithGen(parts[j], g, 1), &sn); err != nil {
					t.Fatal(err)
				}
				mod.ApplySnapshot(&sn)
				latest[j] = parts[j]
			}
		}
		// Every token the module holds is indexed by its shard (a base
		// replaces them).
		for tok := range mod.deprecated {
			if !slices.Contains(mod.shardKeys[Shard(tok)], tok) {
				t.Fatalf("step %d op %d: deprecated %s not indexed in shard %d", step, op, tok[:8], Shard(tok))
			}
		}
		sameTable(t, fmt.Sprintf("step %d (op %d)", step, op), s, mod)
		if step%3 == 2 {
			// The late module gets only the parts' latest states.
			for _, p := range latest {
				var sn Snapshot
				if err := json.Unmarshal(WithGen(p, g, 1), &sn); err != nil {
					t.Fatal(err)
				}
				late.ApplySnapshot(&sn)
			}
			clear(latest)
			sameTable(t, fmt.Sprintf("late module, step %d", step), s, late)
		}
	}
	if rebased == 0 {
		t.Fatal("no shard was re-based: the overlays' bound was never exercised")
	}
}
