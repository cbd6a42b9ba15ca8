package modrt

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
)

// The heap floor raises the GC's heap goal by twice its size and costs no
// resident memory; an operator's GOGC or GOMEMLIMIT turns it off.
func TestHeapFloor(t *testing.T) {
	if KeepHeapFloor("200", "") != 0 || KeepHeapFloor("", "64MiB") != 0 || KeepHeapFloor("off", "") != 0 || floor != nil {
		t.Fatal("a heap floor despite the operator's GOGC or GOMEMLIMIT")
	}
	runtime.GC()
	goal0 := heapGoal()
	rss0 := vmRSS(t)
	n := KeepHeapFloor("", "")
	runtime.GC()
	goal1 := heapGoal()
	rss1 := vmRSS(t)
	if n != HeapFloorBytes || len(floor) != n {
		t.Fatalf("heap floor of %d bytes, want %d", n, HeapFloorBytes)
	}
	if goal1 < 2*HeapFloorBytes {
		t.Errorf("heap goal %d → %d bytes with the floor, want at least %d", goal0, goal1, 2*HeapFloorBytes)
	}
	if rss1-rss0 > 4<<20 {
		t.Errorf("resident memory %d → %d bytes: the floor's pages were touched", rss0, rss1)
	}
}

func heapGoal() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

func vmRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
