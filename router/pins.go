package router

import (
	"strings"
	"sync"
	"time"

	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/store"
)

// Stored pins (D179): the two LiteLLM pre-call checks whose pin cannot be
// computed, because it is whatever deployment answered a request before.
//
//   - prompt_caching (LiteLLM's PromptCachingDeploymentCheck): a chat
//     request whose messages carry a cacheable prefix goes to the deployment
//     that last answered a request with the same prefix, found by looking
//     back over the prefix's last 20 breakpoint positions; the pin is written
//     when a request with the prefix succeeds, for 5 minutes (an hour when a
//     breakpoint asks for ttl "1h" and the deployment's model caches that
//     long).
//   - session_affinity_repin_on_failover (DeploymentAffinityCheck's
//     async_repin_session_after_success): a session whose deployment was
//     cooling down and that another deployment answered stays on that one
//     (deployment_affinity_ttl_seconds after its last use), where without it
//     the session goes back to its deployment (D168's hash) when it is back.
//
// Both are kept in memory (Pins), read by the plan with no round trip, and
// written off the request path: the plan leaves what a success would pin
// under the request's call id (expect), and Report, when the outcome of
// that call is a success, stores the pin (settle). The gateway hands the
// instance's pins to the other instances through Redis (Publish) and takes
// theirs (Add); the module hands the requests with a cacheable prefix on to
// ext_proc, and is given the sessions' re-pins with the cooldowns.

// Pin bounds, as LiteLLM's: PROMPT_CACHE_LOOKBACK_POSITIONS and the pin
// TTLs (prompt_caching_cache.py), PROMPT_CACHE_PIN_CACHE_MAX_SIZE.
const (
	PromptLookback     = 20
	PromptPinTTL       = 300 * time.Second
	PromptPinHourTTL   = time.Hour
	PromptMinTokens    = 1024 // DEFAULT_MINIMUM_PROMPT_CACHE_TOKEN_COUNT
	maxPins            = 10_000
	maxPending         = 10_000
	pendingTTL         = 10 * time.Minute
	affinityPinPrefix  = "aff\x00"
	sessionAffinityKey = "session\x00"
)

// PromptPrefix is a request's cacheable prompt prefix: Keys are the keys of
// its last PromptLookback breakpoint positions, newest first (Keys[0] is
// the whole prefix's, the one a success pins); Hour: a breakpoint asks for
// ttl "1h".
type PromptPrefix struct {
	Keys []string
	Hour bool
}

// Pins is the table of stored pins, shared by the routers of successive
// configs of one process. Safe for concurrent use.
type Pins struct {
	mu      sync.Mutex
	now     func() time.Time
	pins    map[string]storedPin
	pending map[string]pendingPin
	// Publish, when set, is told of every pin this process stores (not of
	// those given to Add). It is called with no lock held and must not
	// block.
	Publish func(key, deployment string, ttl time.Duration)
	// OnAffinity, when set, is called after a session's re-pin is stored
	// or given to Add (the gateway gives the module the re-pins).
	OnAffinity func()
}

type storedPin struct {
	dep   string
	until time.Time
}

// pendingPin is what a call's success pins: its prompt prefix's key (Hour:
// for an hour where the deployment caches that long), and a session's
// affinity pin key with the deployment it was pinned to at plan time
// (repin: it was cooling down, so the answering deployment takes the
// session; else a re-pin in use is refreshed).
type pendingPin struct {
	prompt string
	hour   bool
	aff    string
	was    string
	repin  bool
	at     time.Time
}

// NewPins returns an empty table on a clock (nil: time.Now).
func NewPins(now func() time.Time) *Pins {
	if now == nil {
		now = time.Now
	}
	return &Pins{now: now, pins: map[string]storedPin{}, pending: map[string]pendingPin{}}
}

// Add stores a pin learnt from another instance (not published again).
func (p *Pins) Add(key, deployment string, ttl time.Duration) {
	if ttl <= 0 || key == "" || deployment == "" {
		return
	}
	p.mu.Lock()
	p.put(key, deployment, p.now().Add(ttl))
	p.mu.Unlock()
	if strings.HasPrefix(key, affinityPinPrefix) && p.OnAffinity != nil {
		p.OnAffinity()
	}
}

// set stores a pin of this process and publishes it.
func (p *Pins) set(key, deployment string, ttl time.Duration) {
	p.mu.Lock()
	p.put(key, deployment, p.now().Add(ttl))
	p.mu.Unlock()
	if p.Publish != nil {
		p.Publish(key, deployment, ttl)
	}
	if strings.HasPrefix(key, affinityPinPrefix) && p.OnAffinity != nil {
		p.OnAffinity()
	}
}

// put stores a pin (p.mu held), making room when the table is full: the
// expired pins go, else one pin does.
func (p *Pins) put(key, dep string, until time.Time) {
	if _, ok := p.pins[key]; !ok && len(p.pins) >= maxPins {
		now := p.now()
		for k, v := range p.pins {
			if !v.until.After(now) {
				delete(p.pins, k)
			}
		}
		for k := range p.pins {
			if len(p.pins) < maxPins {
				break
			}
			delete(p.pins, k)
		}
	}
	p.pins[key] = storedPin{dep: dep, until: until}
}

// get is the deployment a live pin names.
func (p *Pins) get(key string) (string, time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.pins[key]
	if !ok {
		return "", 0, false
	}
	left := v.until.Sub(p.now())
	if left <= 0 {
		delete(p.pins, key)
		return "", 0, false
	}
	return v.dep, left, true
}

// first is the deployment of the newest of keys with a live pin (LiteLLM's
// _first_pin over the lookback keys); "" when none has one.
func (p *Pins) first(keys []string) string {
	for _, k := range keys {
		if d, _, ok := p.get(k); ok {
			return d
		}
	}
	return ""
}

// Affinity returns the sessions' re-pins in force (key → deployment, end),
// for the module.
func (p *Pins) Affinity() map[string]AffinityPin {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var out map[string]AffinityPin
	for k, v := range p.pins {
		if strings.HasPrefix(k, affinityPinPrefix) && v.until.After(now) {
			if out == nil {
				out = map[string]AffinityPin{}
			}
			out[k] = AffinityPin{Deployment: v.dep, Until: v.until.UnixNano()}
		}
	}
	return out
}

// AffinityPin is a session's re-pin: its deployment and end (unix
// nanoseconds).
type AffinityPin struct {
	Deployment string `json:"d"`
	Until      int64  `json:"u"`
}

// AddAffinity stores re-pins given by the gateway (the module's table).
func (p *Pins) AddAffinity(ps map[string]AffinityPin) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range ps {
		p.put(k, v.Deployment, time.Unix(0, v.Until))
	}
}

// expect leaves what call's success pins.
func (p *Pins) expect(call string, pp pendingPin) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pp.at = p.now()
	if len(p.pending) >= maxPending {
		for k, v := range p.pending {
			if pp.at.Sub(v.at) > pendingTTL {
				delete(p.pending, k)
			}
		}
		for k := range p.pending {
			if len(p.pending) < maxPending {
				break
			}
			delete(p.pending, k)
		}
	}
	p.pending[call] = pp
}

// take removes and returns what call's success pins.
func (p *Pins) take(call string) (pendingPin, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pp, ok := p.pending[call]
	if ok {
		delete(p.pending, call)
	}
	return pp, ok && p.now().Sub(pp.at) <= pendingTTL
}

// WithPins makes the router keep its stored pins in p (the gateway's table,
// which outlives a config); by default a router has its own.
func WithPins(p *Pins) Option { return func(r *Router) { r.pins = p } }

// Pins is the router's table of stored pins.
func (r *Router) Pins() *Pins { return r.pins }

// pinning is what the stored pins decide for one plan.
type pinning struct {
	prompt string // the deployment the prompt's prefix is pinned to
	pend   pendingPin
	states map[string]store.DeploymentState
	now    time.Time
}

// lookPrompt looks the request's prompt prefix up (prompt_caching).
func (r *Router) lookPrompt(ps *pinning, req PlanRequest) {
	if req.Prompt != nil && len(req.Prompt.Keys) > 0 && r.m.Routing.PromptCaching {
		ps.prompt = r.pins.first(req.Prompt.Keys)
		ps.pend.prompt, ps.pend.hour = req.Prompt.Keys[0], req.Prompt.Hour
	}
}

// sessionPin orders ordered for a session key in group with
// session_affinity_repin_on_failover: its re-pin first when there is one
// among the candidates, else D168's hash; when the session's deployment
// (the re-pin, else the hash's choice among all the group's deployments)
// is cooling down, a success elsewhere re-pins the session.
func (r *Router) sessionPin(ps *pinning, ordered []candidate, group, key string) {
	ak := affinityPinPrefix + group + "\x00" + key
	pinned, _, ok := r.pins.get(ak)
	if !ok {
		pinned = hashChoice(r.m.GroupDeployments(group), group, key)
	}
	if toFront(ordered, pinned) {
		if ok {
			ps.pend.aff, ps.pend.was = ak, pinned // a success refreshes the re-pin
		}
		return
	}
	stick(ordered, group, key)
	if ps.states[pinned].CoolingDown(ps.now) {
		ps.pend.aff, ps.pend.was, ps.pend.repin = ak, pinned, true
	}
}

// hashChoice is the deployment stick puts first among all of ds.
func hashChoice(ds []*model.Deployment, group, key string) string {
	cs := make([]candidate, len(ds))
	for i, d := range ds {
		cs[i] = candidate{d: d, t: Target{DeploymentID: d.ID}}
	}
	if len(cs) == 0 {
		return ""
	}
	stick(cs, group, key)
	return cs[0].t.DeploymentID
}

// toFront moves the candidate of deployment id to the front; false when
// it is not among them.
func toFront(ordered []candidate, id string) bool {
	if id == "" {
		return false
	}
	for i, c := range ordered {
		if c.t.DeploymentID == id {
			copy(ordered[1:i+1], ordered[:i])
			ordered[0] = c
			return true
		}
	}
	return false
}

// expectPins leaves what the plan's success pins, under its call id.
func (r *Router) expectPins(req PlanRequest, ps *pinning) {
	if req.CallID == "" || ps.pend.prompt == "" && ps.pend.aff == "" {
		return
	}
	r.pins.expect(req.CallID, ps.pend)
}

// settlePins stores what a call's success pins (Report).
func (r *Router) settlePins(o Outcome, d *model.Deployment) {
	pp, ok := r.pins.take(o.CallID)
	if !ok {
		return
	}
	if pp.prompt != "" {
		ttl := PromptPinTTL
		if pp.hour && d != nil && cachesAnHour(d) {
			ttl = PromptPinHourTTL
		}
		r.pins.set(pp.prompt, o.DeploymentID, ttl)
	}
	if pp.aff == "" {
		return
	}
	ttl := r.m.Routing.AffinityTTL
	if ttl <= 0 {
		ttl = time.Duration(3600) * time.Second
	}
	switch {
	case pp.repin && o.DeploymentID != pp.was:
		r.pins.set(pp.aff, o.DeploymentID, ttl)
	case !pp.repin && o.DeploymentID == pp.was:
		// A re-pin in use lasts deployment_affinity_ttl_seconds from its
		// last use (LiteLLM's claim refreshes the key's expiry); told to
		// the others when half of it is gone.
		if dep, left, ok := r.pins.get(pp.aff); ok && dep == pp.was {
			if left < ttl/2 {
				r.pins.set(pp.aff, dep, ttl)
			} else {
				r.pins.mu.Lock()
				r.pins.put(pp.aff, dep, r.pins.now().Add(ttl))
				r.pins.mu.Unlock()
			}
		}
	}
}

// cachesAnHour: the deployment's model keeps a prompt cache for an hour
// when asked (LiteLLM's _honors_one_hour_cache_ttl: a Claude model — on
// Anthropic, Bedrock, Vertex AI — has a 1-hour cache write price).
func cachesAnHour(d *model.Deployment) bool {
	return strings.Contains(strings.ToLower(d.Model), "claude")
}
