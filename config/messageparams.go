package config

import (
	"encoding/json"
	"strconv"

	"github.com/llmgate/llmgate/internal/msgparams"
	"gopkg.in/yaml.v3"
)

// RewritesMessages reports whether an OpenAI-compatible deployment's chat
// bodies are rewritten before the call (supports_system_message: false,
// ensure_alternating_roles): such a deployment takes the path that builds
// the body, never the fast path or a prepared body (D103, D119).
// cache_control_injection_points are not counted: they apply to Anthropic
// deployments, whose bodies are always built.
func (p *LiteLLMParams) RewritesMessages() bool {
	return p.NoSystemMessage || (p.Messages != nil && p.Messages.EnsureAlternatingRoles)
}

// messageParam reads one of the message params into lp.Messages.
func (p *parser) messageParam(lp *LiteLLMParams, name string, v *yaml.Node, key string) {
	if lp.Messages == nil {
		lp.Messages = &msgparams.Params{}
	}
	m := lp.Messages
	switch name {
	case "ensure_alternating_roles":
		m.EnsureAlternatingRoles, _ = p.bool(v, key)
	case "user_continue_message", "assistant_continue_message":
		msg, ok := p.continueMessage(v, key)
		if !ok {
			return
		}
		if name == "user_continue_message" {
			m.UserContinue = msg
		} else {
			m.AssistantContinue = msg
		}
	case "cache_control_injection_points":
		items, ok := p.sequence(v, key)
		if !ok {
			return
		}
		for i, it := range items {
			ik := key + "[" + strconv.Itoa(i) + "]"
			pt, ok := p.cacheControlPoint(it, ik)
			if ok {
				m.CacheControl = append(m.CacheControl, pt)
			}
		}
	}
}

// continueMessage reads a continue message: a mapping (a chat message, kept
// as JSON); null is LiteLLM's default.
func (p *parser) continueMessage(v *yaml.Node, key string) (json.RawMessage, bool) {
	val := p.anyValue(v, key)
	if val == nil {
		return nil, false
	}
	obj, ok := val.(map[string]any)
	if !ok {
		p.errAt(v, key, "must be a message (a mapping with role and content), got %s", p.describe(v))
		return nil, false
	}
	if r, _ := obj["role"].(string); r == "" {
		p.errAt(v, key, "must have a role")
		return nil, false
	}
	b, err := json.Marshal(obj)
	if err != nil {
		p.errAt(v, key, "cannot be encoded as JSON: %v", err)
		return nil, false
	}
	return b, true
}

// cacheControlPoint reads one injection point. Location "message" is the
// one LiteLLM applies to chat messages; its index may be an integer or a
// string holding one (LiteLLM's reading), else role names the messages.
func (p *parser) cacheControlPoint(n *yaml.Node, key string) (msgparams.CacheControlPoint, bool) {
	val, ok := p.anyValue(n, key).(map[string]any)
	if !ok {
		p.errAt(n, key, "must be a mapping (location, role or index, control), got %s", p.describe(n))
		return msgparams.CacheControlPoint{}, false
	}
	var pt msgparams.CacheControlPoint
	if loc, _ := val["location"].(string); loc != "message" {
		p.warnAt(n, key, "location %q: llmgate injects cache_control at location \"message\" only; this point is ignored", loc)
		return pt, false
	}
	if idx, set := val["index"]; set && idx != nil {
		i, ok := intOrIntString(idx)
		if !ok {
			// LiteLLM leaves a non-integer index unset and then targets by role.
			p.warnAt(n, key, "index %v is not an integer; the point targets by role", idx)
		} else {
			pt.Index = &i
		}
	}
	pt.Role, _ = val["role"].(string)
	if pt.Index == nil && pt.Role == "" {
		p.warnAt(n, key, "names no role or index; it marks no message (as in LiteLLM)")
		return pt, false
	}
	if c, set := val["control"]; set && c != nil {
		if _, ok := c.(map[string]any); !ok {
			p.errAt(n, key+".control", "must be a mapping (type: ephemeral, ttl), got %v", c)
			return pt, false
		}
		pt.Control, _ = json.Marshal(c)
	}
	return pt, true
}

// intOrIntString is an integer, or a string holding one.
func intOrIntString(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case string:
		if i, err := strconv.Atoi(x); err == nil {
			return i, true
		}
	}
	return 0, false
}
