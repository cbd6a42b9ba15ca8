package callbacks

import (
	"sync"
	"sync/atomic"
)

// sizeHint sizes a batch's body from the batches before it (D74): growing
// a half-megabyte body from a small guess reallocated and copied it tens
// of times (append grows large slices by a quarter), most of the cost of
// writing it. It also keeps the bodies the transport is done with for the
// next batches (D79): a fresh half-megabyte body per batch was a fifth of
// the observed process's allocated bytes, each one cleared by the runtime
// and each bringing the next garbage collection closer.
type sizeHint struct {
	perEvent atomic.Int64

	mu   sync.Mutex
	free [][]byte // bodies to reuse, at most keepBodies
}

// keepBodies is how many released bodies a sizeHint keeps (one a sender
// posting at a time; the generic_api senders share genericSize).
const keepBodies = 2

// maxKeptBody bounds a kept body (a burst's larger batch is given back to
// the garbage collector).
const maxKeptBody = 4 << 20

// buf is an empty buffer for n events of about def bytes each until a
// batch has been measured: a released body when one is large enough.
func (h *sizeHint) buf(n, def int) []byte {
	per := int(h.perEvent.Load())
	if per <= 0 {
		per = def
	}
	want := n*per + 512
	h.mu.Lock()
	for i := len(h.free) - 1; i >= 0; i-- {
		if b := h.free[i]; cap(b) >= want && cap(b) <= 2*want+64<<10 {
			h.free[i] = h.free[len(h.free)-1]
			h.free[len(h.free)-1] = nil
			h.free = h.free[:len(h.free)-1]
			h.mu.Unlock()
			return b[:0]
		}
	}
	h.mu.Unlock()
	return make([]byte, 0, want)
}

// release gives back a body nothing reads any more (the post returned and
// the transport closed it) for a later buf.
func (h *sizeHint) release(b []byte) {
	if cap(b) == 0 || cap(b) > maxKeptBody {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.free) < keepBodies {
		h.free = append(h.free, b[:0])
		return
	}
	// Keep the larger ones.
	for i, f := range h.free {
		if cap(f) < cap(b) {
			h.free[i] = b[:0]
			return
		}
	}
}

// observe records a written body of n events (an eighth more, for the
// next batch's longer strings).
func (h *sizeHint) observe(body []byte, n int) {
	if n > 0 {
		per := len(body) / n
		h.perEvent.Store(int64(min(per+per/8+16, 1<<16)))
	}
}
