package extproc

import (
	"hash/maphash"
	"sync/atomic"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// The contexts of the translated requests the module served, kept for
// their tries (D107). A translated try in the module's upstream filter
// (NewModuleTry) needs the request's context, which Envoy hands it as
// llmgate.ctx, the base64 of its proto: decoding it again was a tenth of the
// module's work for a try. Serve keeps the context it encoded in a slot
// picked by a hash of the encoding; the try takes it when the slot still
// holds that exact encoding (the same bytes decode to the same message), and
// decodes llmgate.ctx as before when another request took the slot. The
// context is read, never written, after Serve encoded it (newTryOf), so
// the tries of a request share it. At most tryContextSlots contexts are
// kept; each stays until a later request takes its slot.

// tryContextSlots is the number of contexts kept: a few times the requests
// in flight at the bench's concurrency of 64.
const tryContextSlots = 1024

type tryContexts struct {
	seed  maphash.Seed
	slots [tryContextSlots]atomic.Pointer[tryContext]
}

type tryContext struct {
	enc string
	rc  *llmgatev1.RequestContext
}

func newTryContexts() *tryContexts { return &tryContexts{seed: maphash.MakeSeed()} }

func (c *tryContexts) slot(enc string) *atomic.Pointer[tryContext] {
	return &c.slots[maphash.String(c.seed, enc)%tryContextSlots]
}

// put keeps rc, encoded as enc.
func (c *tryContexts) put(enc string, rc *llmgatev1.RequestContext) {
	c.slot(enc).Store(&tryContext{enc: enc, rc: rc})
}

// get is the context encoded as enc, nil when it is no longer kept.
func (c *tryContexts) get(enc string) *llmgatev1.RequestContext {
	if c == nil {
		return nil
	}
	if e := c.slot(enc).Load(); e != nil && e.enc == enc {
		return e.rc
	}
	return nil
}
