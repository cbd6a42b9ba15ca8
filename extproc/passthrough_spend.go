package extproc

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/translator"
)

// Pass-through routes with auth: true (D113, D122) stay plain Envoy routes.
// Before one goes on, the request filter runs the caller's checks as on an
// LLM route (passThroughCheck: a key's blocked, expiry, budgets, model when
// the body names one, rpm/tpm/parallel limits; LiteLLM runs its
// user_api_key_auth and pre-call hooks there). The answer is read off the
// request path by the observer (passthrough_observe.go, an ext_proc filter in
// observability mode): a provider route's usage becomes the request's spend,
// and the request's parallel slots are released when its answer ends (D128).

// ptRequest is a checked pass-through request the observer finishes.
type ptRequest struct {
	keys     *keys.Service
	token    string // the virtual key's hash ("" for a JWT caller)
	team     string
	user     string
	provider string // the provider route's ("" for a configured entry)
	model    string // the request body's model
	path     string
	parallel bool // the checks took parallel slots (released at the end)
	start    time.Time
	deadline time.Time
	// rt is a realtime session's (realtime.go, D159): nil for a pass-through request.
	rt *rtSession
}

// maxPassThroughPending bounds the checked pass-through requests in flight
// whose answer the observer has not finished; beyond it a request is not
// tracked (its slots released at once, its spend not counted).
const maxPassThroughPending = 1 << 16

// passThroughGrace is how long after its route's timeout a request's entry
// is kept for an observer that never came (then its slots are released).
const passThroughGrace = 30 * time.Second

// ptPending holds the checked pass-through requests by x-request-id.
type ptPending struct {
	mu        sync.Mutex
	m         map[string]*ptRequest
	nextSweep time.Time
}

// add keeps r for the observer; false when it cannot (no id, full).
func (p *ptPending) add(id string, r *ptRequest, now time.Time) bool {
	if id == "" {
		return false
	}
	p.mu.Lock()
	if p.m == nil {
		p.m = make(map[string]*ptRequest)
	}
	var expired []*ptRequest
	if now.After(p.nextSweep) {
		p.nextSweep = now.Add(10 * time.Second)
		for k, e := range p.m {
			if now.After(e.deadline) {
				expired = append(expired, e)
				delete(p.m, k)
			}
		}
	}
	_, dup := p.m[id]
	ok := !dup && len(p.m) < maxPassThroughPending
	if ok {
		p.m[id] = r
	}
	p.mu.Unlock()
	for _, e := range expired {
		e.release() // an observer never came (its stream failed)
	}
	return ok
}

// get is id's pending request, left pending (nil: none).
func (p *ptPending) get(id string) *ptRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[id]
}

// take removes and returns id's request (nil: none).
func (p *ptPending) take(id string) *ptRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.m[id]
	delete(p.m, id)
	return r
}

// release gives back the request's parallel slots.
func (r *ptRequest) release() {
	if !r.parallel {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), keys.LimitTimeout)
	defer cancel()
	if r.token != "" {
		r.keys.End(ctx, r.token)
	} else {
		r.keys.EndFor(ctx, "", r.team, r.user)
	}
}

// maxModelBody bounds the body the checks read the model from.
const maxModelBody = 1 << 20

// bodyModel is a JSON body's "model" ("" when none).
func bodyModel(body []byte) string {
	body = bytes.TrimLeft(body, " \t\r\n")
	if len(body) == 0 || len(body) > maxModelBody || body[0] != '{' {
		return ""
	}
	var f struct {
		Model json.RawMessage `json:"model"`
	}
	if json.Unmarshal(body, &f) != nil {
		return ""
	}
	var m string
	if json.Unmarshal(f.Model, &m) != nil || len(m) > 256 {
		return ""
	}
	return m
}

// passThroughCheck runs the caller's checks on a pass-through request
// before it goes on, and keeps what the observer needs for its answer. The
// master key (and no key store) is not checked: it has no budget.
func (s *Server) passThroughCheck(st *State, ep *config.PassThroughEndpoint, h map[string]string, id identity, body []byte) *translator.Error {
	if st.keys == nil || id.token == "" && id.principal == nil {
		return nil
	}
	model := bodyModel(body)
	g, e := st.authorizeKey(id, nil, model, model, "", "", nil)
	if e != nil {
		return e
	}
	if g == nil || ep.Provider == "" && !g.Parallel {
		return nil
	}
	now := s.now()
	r := &ptRequest{keys: st.keys, token: g.Token, team: g.TeamID, user: g.UserID, provider: ep.Provider, model: model,
		path: clientPath(h[":path"]), parallel: g.Parallel, start: now, deadline: now.Add(ep.Timeout + passThroughGrace)}
	if id.token == "" {
		r.token = ""
	}
	if !s.pt.add(h["x-request-id"], r, now) {
		s.log.Warn("pass-through request not observed (no request id, or too many in flight): its spend is not counted", "path", r.path)
		r.release()
	}
	return nil
}
