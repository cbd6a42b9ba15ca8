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
		{ // the same names in the same order (fastPlan's entries): commonMask
			{headers: pairsOf(map[string]string{"x-litellm-model-id": "a", "x-litellm-model-group": "g", "x-litellm-attempted-retries": "0"}), model: "g"},
			{headers: pairsOf(map[string]string{"x-litellm-model-id": "b", "x-litellm-model-group": "g", "x-litellm-attempted-retries": "1"}), model: "g"},
			{headers: pairsOf(map[string]string{"x-litellm-model-id": "c", "x-litellm-model-group": "g", "x-litellm-attempted-retries": "0"}), model: "g"},
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
			got := norm(respPlanOfEntries(es, nil, 1700000000123456789, mode.stream, mode.usage))
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

// TestCommonMaskIsCommonHeader (D105): commonMask, when it decides, says
// for every entry's header at position j what commonHeader says of it;
// it declines names in another order or number, or repeated.
func TestCommonMaskIsCommonHeader(t *testing.T) {
	e := func(kv ...string) fastEntry {
		var hs [][2]string
		for i := 0; i+1 < len(kv); i += 2 {
			hs = append(hs, [2]string{kv[i], kv[i+1]})
		}
		return fastEntry{headers: hs}
	}
	for i, tc := range []struct {
		entries []fastEntry
		decides bool
	}{
		{[]fastEntry{e("a", "1", "b", "2")}, true},
		{[]fastEntry{e("a", "1", "b", "2", "c", "3"), e("a", "1", "b", "x", "c", "3"), e("a", "1", "b", "2", "c", "y")}, true},
		{[]fastEntry{e("a", "1", "b", "2"), e("a", "2", "b", "2")}, true},
		{[]fastEntry{e("a", "1", "b", "2"), e("b", "2", "a", "1")}, false},
		{[]fastEntry{e("a", "1", "b", "2"), e("a", "1")}, false},
		{[]fastEntry{e("a", "1", "a", "2"), e("a", "1", "a", "2")}, false},
	} {
		mask, ok := commonMask(tc.entries)
		if ok != tc.decides {
			t.Errorf("set %d: decides %v, want %v", i, ok, tc.decides)
			continue
		}
		if !ok {
			continue
		}
		for _, en := range tc.entries {
			for j, kv := range en.headers {
				if got, want := mask&(1<<j) != 0, commonHeader(tc.entries, kv[0], kv[1]); got != want {
					t.Errorf("set %d header %v: common %v, commonHeader says %v", i, kv, got, want)
				}
			}
		}
	}
}
