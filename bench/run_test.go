package bench

import (
	"slices"
	"testing"
)

// TestRunOrder: make bench's runs measure the direct call first, then the
// other targets in an order that changes from run to run (D94): no target
// keeps a place, the second place (the one D88 found slower) goes to a
// different target each run, and every pair of targets (plain Envoy and
// llmgate, llmgate and llmgate-keys: the pairs make bench compares) is
// measured in both orders.
func TestRunOrder(t *testing.T) {
	names := []string{"direct", "envoy", "llmgate", "litellm", "llmgate-redis", "llmgate-extproc",
		"llmgate-anthropic", "llmgate-observed", "llmgate-keys"}
	targets := make([]*Target, len(names))
	for i, n := range names {
		targets[i] = &Target{Endpoint: Endpoint{Name: n}}
	}
	nameOf := func(ts []*Target) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Name)
		}
		return out
	}
	for _, runs := range []int{3, 5, 8} {
		var orders [][]string
		for run := 1; run <= runs; run++ {
			o := nameOf(runOrder(targets, run, runs))
			if o[0] != "direct" {
				t.Fatalf("runs %d, run %d: %v: the direct call is not first", runs, run, o)
			}
			if s := slices.Sorted(slices.Values(o)); !slices.Equal(s, slices.Sorted(slices.Values(names))) {
				t.Fatalf("runs %d, run %d: %v is not every target once", runs, run, o)
			}
			orders = append(orders, o)
		}
		for i := range orders {
			for j := range i {
				if orders[i][1] == orders[j][1] {
					t.Errorf("runs %d: %s measured second in runs %d and %d", runs, orders[i][1], j+1, i+1)
				}
				for k := 1; k < len(names); k++ {
					if orders[i][k] == orders[j][k] {
						t.Errorf("runs %d: %s measured at place %d in runs %d and %d: %v, %v", runs, orders[i][k], k, j+1, i+1, orders[j], orders[i])
					}
				}
			}
		}
		for a := 1; a < len(names); a++ {
			for b := a + 1; b < len(names); b++ {
				first := 0
				for _, o := range orders {
					if slices.Index(o, names[a]) < slices.Index(o, names[b]) {
						first++
					}
				}
				if first == 0 || first == runs {
					t.Errorf("runs %d: %s before %s in %d of %d runs: %v", runs, names[a], names[b], first, runs, orders)
				}
			}
		}
	}
	if o := nameOf(runOrder(targets, 1, 1)); !slices.Equal(o, names) {
		t.Errorf("one run: %v, want the targets' own order", o)
	}
}
