package extproc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
)

// Context-window and content-policy fallbacks are only known from a
// provider's answer, after Envoy has started the plan. The attempt filter then
// turns the answer into an internal redirect (307 to the client's own URL);
// Envoy replays the buffered request through the request filter, which sees
// the signed x-llmgate-fallback header (copied from the redirect response by
// the route's internal_redirect_policy) and plans the fallback list of that
// kind. See docs/architecture.md, D11.

// fallbackTicket is what the redirect carries to the request filter.
type fallbackTicket struct {
	Kind    int     `json:"k"` // router.FallbackKind
	Group   string  `json:"g"` // the model group whose fallbacks to take
	CallID  string  `json:"c"`
	Expires int64   `json:"e"` // unix seconds
	Taken   []int32 `json:"t"` // kinds already taken
	Key     string  `json:"h"` // key hash of the original request (virtual keys)
	// Team, User and EndUser: the original request's, so that the replay's
	// spend counts to them as the first pass's would (a JWT caller's team
	// has no key to find it by, D97).
	Team    string `json:"tm,omitempty"`
	User    string `json:"us,omitempty"`
	EndUser string `json:"eu,omitempty"`
	// Model is the model name the client asked for (the response's model).
	Model string `json:"m,omitempty"`
	// Deployment pins a health-check request to one deployment (Kind pinKind).
	Deployment string `json:"d,omitempty"`
	// HealthModel is the provider model a pinned check calls instead of the
	// deployment's (model_info.health_check_model, D104).
	HealthModel string `json:"hm,omitempty"`
	// Endpoint binds the ticket to the endpoint of the request it was made
	// for (llmgatev1.Endpoint); Nonce makes it accepted once (acceptTicket).
	Endpoint int32  `json:"p"`
	Nonce    string `json:"n"`
}

// processTicketKey signs tickets of a State given no key (SetTicketKey):
// only tests and a lone process, where the signer is also the verifier.
var processTicketKey = func() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}()

// SetTicketKey sets the key that signs and verifies fallback and health-pin
// tickets. Every replica behind one Envoy must hold the same key, since the
// replay of a redirect may reach any of them: split-mode replicas get it in
// the routing table (D36 in docs/architecture.md). A secret: never logged.
func (st *State) SetTicketKey(key []byte) { st.ticketKey = key }

func (st *State) ticketSigningKey() []byte {
	if len(st.ticketKey) == 0 {
		return processTicketKey
	}
	return st.ticketKey
}

func (st *State) signTicket(t fallbackTicket) string {
	if t.Nonce == "" {
		n := make([]byte, 12)
		_, _ = rand.Read(n)
		t.Nonce = base64.RawURLEncoding.EncodeToString(n)
	}
	b, _ := json.Marshal(t)
	m := hmac.New(sha256.New, st.ticketSigningKey())
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// readTicket verifies a ticket; nil when it is missing, forged or expired.
func (st *State) readTicket(s string, now time.Time) *fallbackTicket {
	body, sig, ok := strings.Cut(s, ".")
	if !ok {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return nil
	}
	m := hmac.New(sha256.New, st.ticketSigningKey())
	m.Write(b)
	if !hmac.Equal(got, m.Sum(nil)) {
		return nil
	}
	var t fallbackTicket
	if json.Unmarshal(b, &t) != nil || now.Unix() > t.Expires {
		return nil
	}
	return &t
}

// redirectAuthority is the host of the fallback redirect's Location. Not the
// client's Host: Envoy refuses to follow a Location it cannot parse (a Host
// such as "gw:99999" or "user@gw"), and the 307 then reached the client.
// Every route matches any domain, so the replay is routed the same.
const redirectAuthority = "llmgate.internal"

// pinKind marks a ticket that pins a request to one deployment (/health).
const pinKind = 100

// fallbackKindFor is the fallback list an error class starts, if any.
func fallbackKindFor(class translator.ErrorClass) (router.FallbackKind, bool) {
	switch class {
	case translator.ErrContextWindow:
		return router.ContextWindowFallbacks, true
	case translator.ErrContentPolicy:
		return router.ContentPolicyFallbacks, true
	}
	return 0, false
}

// fallbackRedirect returns the response header changes that redirect the
// request into the group's fallbacks of the class's kind, or nil when there
// are none (or this kind was already taken).
func (t *try) fallbackRedirect(class translator.ErrorClass) []*corev3.HeaderValueOption {
	kind, ok := fallbackKindFor(class)
	if !ok || t.rc.OriginalPath == "" {
		return nil
	}
	for _, k := range t.rc.FallbackKinds {
		if router.FallbackKind(k) == kind {
			return nil
		}
	}
	if len(t.st.Router.FallbackGroups(t.rc.ModelGroup, kind)) == 0 {
		return nil
	}
	ticket := t.st.signTicket(fallbackTicket{Kind: int(kind), Group: t.rc.ModelGroup, CallID: t.rc.CallId,
		Expires: time.Now().Add(time.Minute).Unix(), Taken: append(append([]int32{}, t.rc.FallbackKinds...), int32(kind)), Key: t.rc.KeyHash, Team: t.rc.TeamId, User: t.rc.UserId, EndUser: t.rc.EndUser, Model: t.rc.RequestedModel,
		Endpoint: int32(t.rc.Endpoint)})
	return []*corev3.HeaderValueOption{
		hdr(":status", "307"),
		hdr("location", "http://"+redirectAuthority+t.rc.OriginalPath),
		hdr(contract.FallbackHeader, ticket),
	}
}
