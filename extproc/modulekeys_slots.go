package extproc

import (
	"strings"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/keys"
)

// A key's max_parallel_requests in the module (docs/architecture.md D117;
// internal/keys/slots.go): the module takes the request's slots when it
// reads the headers, before it decides who serves the request, holds them
// until Envoy destroys the request's filter, and tells the checks — its
// own, or the ext_proc filter's for a request it hands on — in
// keys.SlotHeader.

// KeySlot is what HandOnSlots did with a request's parallel slots: Held
// (release it when the request ends) and Header, keys.SlotHeader's value
// ("": none; set it on a request handed on).
type KeySlot struct {
	Held   *keys.Slots
	Header string
	// Auth is the caller HandOn found for a request it keeps: Serve takes
	// it back (ServeAuth) instead of hashing and looking the key up again.
	Auth Auth
}

// Auth is a request's caller as the module found it at the headers
// (docs/architecture.md D135: the key was hashed and looked up twice per
// request, at the headers and at the body). The zero Auth is none: Serve
// then authenticates.
type Auth struct {
	id identity
	ok bool
}

// takeKeySlots takes a key's slots for a request whose headers h name it
// (token), and notes the decision in h for Serve's checks.
func (m *ModuleFilter) takeKeySlots(token string, h map[string]string) KeySlot {
	if m.st.keys == nil || token == "" {
		return KeySlot{}
	}
	held, hdr := m.st.keys.TakeSlots(token)
	if hdr != "" {
		h[keys.SlotHeader] = hdr
	}
	return KeySlot{Held: held, Header: hdr}
}

// HandOnSlots is HandOn that also takes the parallel slots of the request's
// key (KeySlot), for every request of an LLM route the module reads, whether
// it then serves it or hands it on; a reply holds none.
func (m *ModuleFilter) HandOnSlots(h map[string]string, count, size int, contentLength int64) (handOn bool, reply *ModuleAnswer, ks KeySlot) {
	if m.st.keys == nil || m.off != "" || h[":method"] != "POST" {
		handOn, reply = m.HandOn(h, count, size, contentLength)
		return handOn, reply, KeySlot{}
	}
	if rt := classify("POST", h[":path"]); rt.kind == routeLLM && (rt.pathModel != "" || strings.IndexByte(h[":path"], '?') >= 0) &&
		h[contract.FallbackHeader] == "" && m.st.presentedKey(h) != "" {
		// Handed on by HandOn before its key is read: the slots are taken
		// here all the same (one count for every request of the key).
		if id, e := m.st.authenticate(h, true); e == nil && id.token != "" {
			ks = m.takeKeySlots(id.token, h)
		}
		return true, nil, ks
	}
	return m.handOn(h, count, size, contentLength, true)
}
