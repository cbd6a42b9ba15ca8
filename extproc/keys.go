package extproc

import (
	"context"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/translator"
)

// maxManagementBody bounds a management request's body.
const maxManagementBody = 1 << 20

// modelRouteTimeout bounds a /model/new|update|delete (it waits for the push).
const modelRouteTimeout = 30 * time.Second

// MasterKeyAlias is what LiteLLM (LITELLM_PROXY_MASTER_KEY_ALIAS) writes
// as the master key's api_key in its tables, instead of the key or its hash.
const MasterKeyAlias = keys.MasterKeyAlias

// ProxyAdminUser is the user_id LiteLLM (LITELLM_PROXY_ADMIN_NAME) gives a
// master-key caller: its spend logs' `user`.
const ProxyAdminUser = "default_user_id"

// authorizeKey runs a virtual key's checks for the resolved model, and the
// end user's (the body's `user`: a customer) for any key, with the
// config's request checks on body (nil, nil for the master key without an
// end user, or a replay, whose first pass was checked).
func (st *State) authorizeKey(id identity, ticket *fallbackTicket, model, group, endUser, slot string, body []byte) (*keys.Grant, *translator.Error) {
	if ticket != nil {
		return nil, nil
	}
	if id.principal != nil {
		return st.authorizePrincipal(id, model, group, endUser, body)
	}
	if st.keys == nil || id.token == "" && endUser == "" && (id.caller == "" || !st.keys.CallerLimited(group)) {
		if st.rules != nil {
			// enforced_params hold for the master key too (enforce_user_param
			// does not: LiteLLM's common_checks are a virtual key's).
			if e := keys.CheckBody(st.rules, nil, body); e != nil {
				return nil, keyError(e)
			}
		}
		return nil, nil
	}
	// The limit counters' round trips are bounded by keys.LimitTimeout.
	// The requested name, then its model group, as strings: a slice of
	// them moved to the heap with the Check (D127).
	g, e := st.keys.AuthorizeRequest(context.Background(), keys.Check{Token: id.token, Key: id.key, Presented: id.presented, Requested: model, Group: group,
		EndUser: endUser, Rules: st.rules, Body: body, Slot: slot, Caller: id.caller})
	if e != nil {
		return nil, keyError(e)
	}
	if g == nil && id.token != "" {
		// Deleted between identify and now.
		return nil, &translator.Error{Status: 401, Type: "auth_error", Code: "401",
			Message: "Authentication Error, Invalid proxy server token passed. Received API key: " + redactKey(id.presented)}
	}
	return g, nil
}

func keyError(e *keys.Error) *translator.Error {
	if e == keys.ErrHandOn {
		return errKeyHandOn // a module view hands on (D83)
	}
	return &translator.Error{Status: e.Status, Type: e.Type, Code: e.Code, Param: e.Param, Message: e.Message, RetryAfter: e.RetryAfter}
}

// keyManagement answers /key/*: the master key for every route, a virtual
// key for its own /key/info.
func (s *Server) keyManagement(stream extprocv3.ExternalProcessor_ProcessServer, st *State, h map[string]string, endOfStream bool) error {
	body, ok, err := managementBodyUnless(stream, endOfStream)
	if !ok {
		return err
	}
	if st.keys == nil {
		return stream.Send(errorReply(&translator.Error{Status: 400, Type: "invalid_request_error", Code: "400",
			Message: "Virtual keys need general_settings.master_key (and, to share them between instances, general_settings.database_url)"}, nil))
	}
	id, e := st.authenticate(h, false)
	if e != nil {
		return stream.Send(errorReply(e, nil))
	}
	if len(body) > maxManagementBody {
		return stream.Send(errorReply(&translator.Error{Status: 413, Type: "invalid_request_error", Code: "413",
			Message: "Request body too large for a management route (at most 1 MiB)"}, nil))
	}
	timeout := 10 * time.Second
	if keys.IsModelRoute(h[":path"]) {
		// /model/new|update|delete return once the new routing table is
		// pushed (a reload): longer than message_timeout allows.
		timeout = modelRouteTimeout
		if err := stream.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(timeout + 5*time.Second)}); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	method := strings.ToUpper(h[":method"])
	c := keys.Caller{Admin: id.master, Token: id.token, ChangedBy: h["litellm-changed-by"]}
	if id.master && st.hasMaster && !id.viaJWT {
		// The audit log's changed_by_api_key: LiteLLM 1.108 puts its alias
		// there, never the master key's hash (disable_adding_master_key_hash_to_db
		// is then moot; D128).
		c.MasterHash = MasterKeyAlias
	}
	status, out := st.keys.Handle(ctx, method, h[":path"], body, c)
	if method == "POST" && s.KeysApplied != nil && (keys.WaitsForModule(h[":path"]) ||
		status == 200 && strings.HasPrefix(h[":path"], "/key/generate") && st.keys.NewKeyWaits(out)) {
		s.KeysApplied(ctx) // the module refuses a blocked or deleted key from the next request on
	}
	return stream.Send(immediate(status, "application/json", out, nil, "llmgate_keys"))
}

// ipRule is general_settings.allowed_ips with use_x_forwarded_for (D90).
type ipRule struct {
	allowed map[string]bool
	xff     bool
}

// newIPRule is nil when allowed_ips is not set (an empty list allows no one,
// as LiteLLM's).
func newIPRule(g config.GeneralSettings) *ipRule {
	if g.AllowedIPs == nil {
		return nil
	}
	r := &ipRule{allowed: make(map[string]bool, len(g.AllowedIPs)), xff: g.UseXForwardedFor}
	for _, ip := range g.AllowedIPs {
		r.allowed[ip] = true
	}
	return r
}

// check refuses a request from an address not in allowed_ips with
// LiteLLM's 403 (its user_api_key_auth, before the key is read).
func (r *ipRule) check(h map[string]string) *translator.Error {
	ip := clientIP(h["x-forwarded-for"], r.xff)
	if r.allowed[ip] {
		return nil
	}
	return &translator.Error{Status: 403, Type: "auth_error", Code: "403", Param: "None",
		Message: "Access forbidden: IP address " + ip + " not allowed."}
}

// clientIP is the address LiteLLM compares with allowed_ips. Envoy appends
// the peer's address to x-forwarded-for (use_remote_address, xds
// listener.go), so the last entry is the peer, and what comes before it is
// the header as the client sent it: with use_x_forwarded_for LiteLLM reads
// that header whole when there is one, else the peer.
func clientIP(xff string, useXFF bool) string {
	i := strings.LastIndexByte(xff, ',')
	if i < 0 {
		return strings.TrimSpace(xff)
	}
	if useXFF {
		return strings.TrimSpace(xff[:i])
	}
	return strings.TrimSpace(xff[i+1:])
}

// routeSet is general_settings.public_routes as LiteLLM's
// route_in_additonal_public_routes matches a route (the path without its
// query): an entry exactly, or one ending in "*" as a prefix.
type routeSet struct {
	exact    map[string]bool
	prefixes []string
}

// newRouteSet is nil when public_routes is not set or empty.
func newRouteSet(routes []string) *routeSet {
	if len(routes) == 0 {
		return nil
	}
	r := &routeSet{exact: make(map[string]bool, len(routes))}
	for _, p := range routes {
		r.exact[p] = true
		if pre, ok := strings.CutSuffix(p, "*"); ok {
			r.prefixes = append(r.prefixes, pre)
		}
	}
	return r
}

func (r *routeSet) has(path string) bool {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if r.exact[path] {
		return true
	}
	for _, p := range r.prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
