package msgparams

import "encoding/json"

// Params are a deployment's message rewrites.
type Params struct {
	// EnsureAlternatingRoles is ensure_alternating_roles: continue messages
	// are inserted where two user (or two assistant) turns meet, before a
	// first assistant turn and after a last one.
	EnsureAlternatingRoles bool
	// UserContinue and AssistantContinue are user_continue_message and
	// assistant_continue_message as JSON objects (nil: LiteLLM's default
	// {"role": …, "content": "Please continue."} messages).
	UserContinue      json.RawMessage
	AssistantContinue json.RawMessage
	// CacheControl are the cache_control_injection_points of location
	// "message", in config order. They apply to Anthropic deployments only.
	CacheControl []CacheControlPoint
}

// CacheControlPoint is one cache_control_injection_points entry: the
// message index it marks (negative from the end; Index wins over Role),
// else every message of Role, with Control (nil: {"type": "ephemeral"}).
type CacheControlPoint struct {
	Role    string
	Index   *int
	Control json.RawMessage
}
