package e2e

import (
	"debug/elf"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// The module's Go globals that hold pointers — what every GC cycle of its
// runtime inside Envoy scans whole — stay small (docs/architecture.md D115:
// the per-request slots were a 25.7 MB array of them, a 4–5 ms mark phase on
// Envoy's CPU). Read from the module's own symbols: the runtime's data and
// bss ranges (runtime.data…edata, runtime.bss…ebss).
func TestModuleGCRoots(t *testing.T) {
	f, err := elf.Open(moduleLib)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	at := map[string]uint64{}
	for _, s := range syms {
		switch s.Name {
		case "runtime.data", "runtime.edata", "runtime.bss", "runtime.ebss":
			at[s.Name] = s.Value
		}
	}
	if len(at) != 4 {
		t.Fatalf("the module's runtime data/bss bounds not found among its symbols: %v", at)
	}
	ranges := [][2]uint64{{at["runtime.data"], at["runtime.edata"]}, {at["runtime.bss"], at["runtime.ebss"]}}
	total := ranges[0][1] - ranges[0][0] + ranges[1][1] - ranges[1][0]
	const limit = 1 << 20
	if total <= limit {
		return
	}
	// Name the largest globals inside the ranges.
	var big []elf.Symbol
	for _, s := range syms {
		for _, r := range ranges {
			if s.Value >= r[0] && s.Value < r[1] && s.Size >= 64<<10 {
				big = append(big, s)
			}
		}
	}
	sort.Slice(big, func(i, j int) bool { return big[i].Size > big[j].Size })
	var names []string
	for _, s := range big {
		names = append(names, fmt.Sprintf("%s (%d bytes)", s.Name, s.Size))
	}
	t.Errorf("the module's Go globals holding pointers are %d bytes (every GC cycle scans them), want at most %d; largest: %s", total, limit, strings.Join(names, ", "))
}
