package keys

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// benchView is a module view holding n keys of one team and 100 users
// (the benchmarks' table), with the Snapshot it was made from.
func benchView(n int) (*Service, *Snapshot) {
	s := NewView()
	sn := &Snapshot{}
	for i := 0; i < n; i++ {
		mb := 10.0
		sn.Keys = append(sn.Keys, &keystore.Key{Token: keystore.HashKey(fmt.Sprintf("sk-%022d", i)), KeyAlias: fmt.Sprintf("app-%d", i),
			Models: []string{"gpt-4o", "gpt-4o-mini"}, MaxBudget: &mb, Spend: 1.5, TeamID: "team-1", UserID: fmt.Sprintf("user-%d", i%100)})
	}
	s.ApplySnapshot(sn)
	return s, sn
}

// setSpendForBench changes one key's current spend as the spend sink does.
func setSpendForBench(s *Service, tok string, v float64) {
	s.mu.Lock()
	s.spend[tok] = v
	s.markKeyLocked(tok)
	s.mu.Unlock()
}

// BenchmarkKeyChangePush (D78): what one key's change costs a push of the
// key table, with 10,000 and 100,000 keys: the gateway's EncodeParts
// (ns/op), the bytes of the parts sent (sent-B/op) and the module's decode
// and apply of them (module-ns/op).
func BenchmarkKeyChangePush(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		s, sn := benchView(n)
		b.Run(fmt.Sprintf("%d/one-key-changed", n), func(b *testing.B) {
			var e PartsEncoder
			gen, parts, _, err := s.EncodeParts(&e)
			if err != nil {
				b.Fatal(err)
			}
			v := NewView()
			apply := func(parts [][]byte, changed []bool, gen uint64) {
				for i, p := range parts {
					if changed != nil && !changed[i] || p == nil {
						continue
					}
					var x Snapshot
					if err := json.Unmarshal(WithGen(p, gen, 1), &x); err != nil {
						b.Fatal(err)
					}
					v.ApplySnapshot(&x)
				}
			}
			apply(parts, nil, gen)
			var sent int
			var module time.Duration
			i := 0
			for b.Loop() {
				i++
				tok := sn.Keys[(i*7919)%n].Token
				setSpendForBench(s, tok, 2+float64(i))
				gen, parts, changed, err := s.EncodeParts(&e)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				for j, c := range changed {
					if c {
						sent += len(parts[j])
					}
				}
				t0 := time.Now()
				apply(parts, changed, gen)
				module += time.Since(t0)
				if _, sp, ok := v.Lookup(tok); !ok || sp != 2+float64(i) {
					b.Fatalf("the module's view has spend %v for the changed key", sp)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(sent)/float64(i), "sent-B/op")
			b.ReportMetric(float64(module.Nanoseconds())/float64(i), "module-ns/op")
		})
	}
}
