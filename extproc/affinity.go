package extproc

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/keys"
)

// stickBy is what a request's plan sticks by (router.PlanRequest's Session
// and Caller) and its call id (router.PlanRequest.CallID: the pins its
// success stores wait under it, D179).
type stickBy struct{ session, caller, call string }

// stickBy reads what a request sticks by when some group takes
// optional_pre_call_checks' session_affinity or deployment_affinity (or
// model_group_affinity_config has them, D168); nothing otherwise. readBody:
// the body may carry a session id (a plain body the module serves has none
// of those keys).
func (st *State) stickBy(h map[string]string, body []byte, readBody bool, id identity) stickBy {
	if !st.Router.Model().Routing.AnySticky {
		return stickBy{}
	}
	return stickBy{session: sessionID(h, body, readBody), caller: affinityCaller(id)}
}

// affinityCaller is who LiteLLM's DeploymentAffinityCheck pins for: the
// request's metadata.user_api_key_hash (a virtual key's hash, the master
// key's alias), else for a JWT caller "user_id:" and its user id.
func affinityCaller(id identity) string {
	switch {
	case id.token != "":
		return id.token
	case id.principal != nil && id.principal.UserID != "":
		return "user_id:" + id.principal.UserID
	case id.caller == keys.MasterKeyAlias:
		return id.caller
	}
	return ""
}

// sessionID is the session id LiteLLM's proxy puts in a request's
// metadata.session_id, which session_affinity keys on: the
// x-litellm-trace-id or x-litellm-session-id header, another
// x-<vendor>-session-id header or x-session-id whose value looks like an id
// (8 or more letters, digits, - or _), else the body's litellm_session_id,
// metadata.session_id or litellm_metadata.session_id.
func sessionID(h map[string]string, body []byte, readBody bool) string {
	if v := h["x-litellm-trace-id"]; v != "" {
		return v
	}
	if v := h["x-litellm-session-id"]; v != "" {
		return v
	}
	vendor := "" // (the first name in order: a map has none)
	for k, v := range h {
		if strings.HasPrefix(k, "x-") && strings.HasSuffix(k, "-session-id") && len(k) > len("x--session-id") &&
			k != "x-litellm-session-id" && (vendor == "" || k < vendor) && sessionLike(v) {
			vendor = k
		}
	}
	if vendor != "" {
		return h[vendor]
	}
	if v := h["x-session-id"]; sessionLike(v) {
		return v
	}
	if !readBody || len(body) == 0 {
		return ""
	}
	for _, r := range gjson.GetManyBytes(body, "litellm_session_id", "metadata.session_id", "litellm_metadata.session_id") {
		if r.Type == gjson.String && r.Str != "" {
			return r.Str
		}
	}
	return ""
}

// sessionLike: LiteLLM's session id shape for the headers it guesses at.
func sessionLike(v string) bool {
	if len(v) < 8 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
