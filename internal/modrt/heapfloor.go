package modrt

// The module's heap goal without a scan of global variables
// (docs/architecture.md D115).
//
// The Go runtime counts the global variables that hold pointers in the heap
// goal (goal = live heap + (live heap + globals + stacks) × GOGC/100) and
// scans them in every GC cycle. Until D115 the module's per-request slots
// were one 25.7 MB global array: every cycle's mark phase scanned it (4–5 ms
// of the module's GC worker on Envoy's CPU, while the worker waited), and it
// kept the heap goal ≈ 26 MB above twice the live heap. The slots are now
// allocated a chunk at a time; without more, the goal would fall to twice the
// live heap (≈ 7 MB at concurrency 1 on the bench's typical config) and the
// module would collect five times as often. A pointer-free allocation that
// the module keeps and never touches — the heap floor — counts in the goal
// as live heap, is never scanned (it holds no pointers), and costs no
// resident memory (its pages are never written). With HeapFloorBytes the
// goal is 2 × (live heap + 24 MB): the cycles come about as often as before
// D115, each one scanning only the live heap.

// HeapFloorBytes is the heap floor's size.
const HeapFloorBytes = 24 << 20

// floor is the heap floor kept (KeepHeapFloor).
var floor []byte

// KeepHeapFloor allocates the heap floor and keeps it for the process's
// life, unless the environment's GOGC or GOMEMLIMIT is set (an operator who
// sets either tunes the collector himself; GOGC=off needs no floor). It
// returns the floor's size in bytes (0: none).
func KeepHeapFloor(gogc, memlimit string) int {
	if gogc != "" || memlimit != "" {
		return 0
	}
	floor = make([]byte, HeapFloorBytes)
	return len(floor)
}
