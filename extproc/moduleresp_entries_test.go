package extproc

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
)

// TestRespPlanOfEntries: the module's answer plan built from the fast
// path's entries directly (D60) is the plan read back from llmgate.fp
// (fastAnswer, respPlanOf), header order aside: one entry, entries that
// share some headers and not others, a header only some entries have,
// prices on some, a stream with and without include_usage.
func TestRespPlanOfEntries(t *testing.T) {
	sets := [][]fastEntry{
		{{headers: pairsOf(map[string]string{"x-litellm-model-id": "a", "x-litellm-model-group": "g"}), model: "g", cost: true, in: 1e-6, out: 2e-6}},
		{
			{headers: pairsOf(map[string]string{"x-litellm-model-id": "a", "x-litellm-model-group": "g", "x-litellm-attempted-retries": "0"}), model: "g", cost: true, in: 1, out: 2},
			{headers: pairsOf(map[string]string{"x-litellm-model-id": "b", "x-litellm-model-group": "g", "x-litellm-attempted-retries": "1"}), model: "g"},
			{headers: pairsOf(map[string]string{"x-litellm-model-id": "c", "x-litellm-model-group": "g", "x-litellm-attempted-retries": "2", "x-litellm-attempted-fallbacks": "1"}), model: "h", cost: true, in: 3, out: 4},
		},
		{
			{headers: pairsOf(map[string]string{"x-litellm-model-group": "g", "only-first": "1"}), model: "g"},
			{headers: pairsOf(map[string]string{"x-litellm-model-group": "g"}), model: "g"},
		},
		{
			{headers: pairsOf(map[string]string{}), model: "g"},
			{headers: pairsOf(map[string]string{"late": "x"}), model: "g"},
		},
	}
	norm := func(p *RespPlan) *RespPlan {
		q := *p
		sortPairs := func(hs [][2]string) [][2]string {
			if len(hs) == 0 {
				return nil
			}
			hs = slices.Clone(hs)
			slices.SortFunc(hs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
			return hs
		}
		q.Common = sortPairs(q.Common)
		q.Entries = slices.Clone(q.Entries)
		for i := range q.Entries {
			q.Entries[i].Headers = sortPairs(q.Entries[i].Headers)
		}
		return &q
	}
	for i, es := range sets {
		for _, mode := range []struct{ stream, usage bool }{{false, false}, {true, false}, {true, true}, {false, true}} {
			a := fastAnswer(es, 1700000000123456789)
			if mode.stream {
				a.Fields["st"] = structpb.NewBoolValue(true)
				if mode.usage {
					a.Fields["u"] = structpb.NewBoolValue(true)
				}
			}
			want := norm(respPlanOf(a))
			got := norm(respPlanOfEntries(es, 1700000000123456789, mode.stream, mode.usage))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("set %d %+v:\n got %+v\nwant %+v", i, mode, got, want)
			}
		}
	}
}

// pairsOf is a fast entry's headers from a map (sorted by name).
func pairsOf(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, [2]string{k, m[k]})
	}
	return out
}
