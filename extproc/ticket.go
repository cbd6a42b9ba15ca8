package extproc

import (
	"context"
	"time"

	"github.com/llmgate/llmgate/internal/contract"
)

// ticketTTL bounds how long a ticket's nonce is remembered: longer than any
// ticket lives (a fallback ticket one minute, a health pin healthTimeout).
const ticketTTL = 2 * time.Minute

// acceptTicket reads the x-llmgate-fallback ticket of a request and accepts
// it only for the request it was made for: its signature and expiry hold,
// its endpoint is the request's, a fallback ticket's call id is the
// request's x-request-id (Envoy keeps it across the internal redirect), and
// its nonce was never accepted before — counted in the store, so a ticket
// is accepted once across every replica sharing Redis. Anything else is
// no ticket: the request then needs a key like any other.
func (s *Server) acceptTicket(st *State, h map[string]string, rt route) *fallbackTicket {
	raw := h[contract.FallbackHeader]
	if raw == "" {
		return nil
	}
	t := st.readTicket(raw, s.now())
	reason := ""
	switch {
	case t == nil:
		reason = "bad signature or expired"
	case t.Endpoint != int32(endpointProto(rt.endpoint)):
		reason = "another endpoint"
	case t.Kind != pinKind && t.CallID != h["x-request-id"]:
		reason = "another call"
	case t.Nonce == "":
		reason = "no nonce"
	}
	if reason == "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := st.Router.Store().Incr(ctx, "llmgate:ticket:"+t.Nonce, 1, ticketTTL)
		if err != nil || n != 1 {
			reason = "already used"
		}
	}
	if reason != "" {
		s.log.Warn("fallback ticket refused; the request needs a key", "reason", reason, "path", h[":path"])
		return nil
	}
	return t
}
