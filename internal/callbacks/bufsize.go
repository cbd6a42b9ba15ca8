package callbacks

import "sync/atomic"

// sizeHint sizes a batch's body from the batches before it (D74): growing
// a half-megabyte body from a small guess reallocated and copied it tens
// of times (append grows large slices by a quarter), most of the cost of
// writing it.
type sizeHint struct{ perEvent atomic.Int64 }

// buf is an empty buffer for n events of about def bytes each until a
// batch has been measured.
func (h *sizeHint) buf(n, def int) []byte {
	per := int(h.perEvent.Load())
	if per <= 0 {
		per = def
	}
	return make([]byte, 0, n*per+512)
}

// observe records a written body of n events (an eighth more, for the
// next batch's longer strings).
func (h *sizeHint) observe(body []byte, n int) {
	if n > 0 {
		per := len(body) / n
		h.perEvent.Store(int64(min(per+per/8+16, 1<<16)))
	}
}
