package config

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

// KeyGenSettings are litellm_settings' key-generation settings:
// default_key_generate_params, upperbound_key_generate_params and
// key_generation_settings, plus /user/new's defaults. Values are JSON values:
// float64, string, []any, map[string]any. internal/keys applies them (its
// KeyGenSettings is this type).
type KeyGenSettings struct {
	// Defaults is default_key_generate_params: /key/generate fills in the
	// fields a request leaves out (models and metadata also when empty).
	Defaults map[string]any
	// Upper is upperbound_key_generate_params: /key/generate, /key/update
	// and /key/regenerate refuse values above it; /key/generate fills in
	// the fields a request leaves out with it.
	Upper map[string]any
	// Team and Personal are key_generation_settings' team_key_generation
	// and personal_key_generation; nil when not set. Set reports whether
	// key_generation_settings is set at all.
	Team, Personal *KeyGenRule
	Set            bool

	// InternalUser is default_internal_user_params: /user/new fills in
	// the fields a body leaves out (models also when empty) unless it
	// creates a proxy_admin; its "teams" are joined as members.
	InternalUser map[string]any
	// MaxInternalUserBudget and InternalUserBudgetDuration are
	// max_internal_user_budget and internal_user_budget_duration: a
	// /user/new body with user_role internal_user and no max_budget
	// (budget_duration) gets them.
	MaxInternalUserBudget      *float64
	InternalUserBudgetDuration string
}

// KeyGenRule is one of key_generation_settings' rules.
type KeyGenRule struct {
	// Roles is allowed_team_member_roles (team keys) or allowed_user_roles
	// (personal keys); nil when not set.
	Roles []string
	// Required is required_params: fields a /key/generate body must name.
	Required []string
}

// litellmDuration is a LiteLLM duration: a number and s, m, h, d, w or mo.
var litellmDuration = regexp.MustCompile(`^[0-9]{1,9}(s|m|h|d|w|mo)?$`)

// keyGenKey reads one of the key-generation settings.
func (p *parser) keyGenKey(ls *LiteLLMSettings, name string, v *yaml.Node, key string) {
	kg := &ls.KeyGen
	switch name {
	case "max_internal_user_budget":
		if f, ok := p.float(v, key); ok {
			f = p.money(v, key, f)
			kg.MaxInternalUserBudget = &f
		}
		return
	case "internal_user_budget_duration":
		kg.InternalUserBudgetDuration, _ = p.duration(v, key)
		return
	case "default_internal_user_params":
		p.internalUserParams(kg, v, key)
		return
	}
	es, ok := p.mapping(v, key)
	if !ok {
		return
	}
	switch name {
	case "default_key_generate_params":
		kg.Defaults = map[string]any{}
		for _, e := range es {
			k := joinKey(key, e.Key)
			if p.keyGenBound(e, k, kg.Defaults) {
				continue
			}
			switch e.Key {
			case "user_id", "team_id":
				if s, ok := p.str(e.Value, k); ok {
					kg.Defaults[e.Key] = s
				}
			case "models":
				if l, ok := p.strList(e.Value, k); ok {
					a := make([]any, len(l))
					for i, s := range l {
						a[i] = s
					}
					kg.Defaults[e.Key] = a
				}
			case "metadata":
				if m := p.anyMap(e.Value, k); m != nil {
					kg.Defaults[e.Key] = jsonValue(m)
				}
			default:
				p.warnAt(e.Value, k, "LiteLLM does not read %q from default_key_generate_params; ignored", e.Key)
			}
		}
	case "upperbound_key_generate_params":
		kg.Upper = map[string]any{}
		for _, e := range es {
			k := joinKey(key, e.Key)
			if !p.keyGenBound(e, k, kg.Upper) {
				p.errAt(e.Value, k, "unknown key %q: upperbound_key_generate_params takes max_budget, budget_duration, duration, max_parallel_requests, tpm_limit, rpm_limit", e.Key)
			}
		}
	case "key_generation_settings":
		kg.Set = true
		for _, e := range es {
			k := joinKey(key, e.Key)
			switch e.Key {
			case "team_key_generation":
				kg.Team = p.keyGenRule(e.Value, k, "allowed_team_member_roles")
			case "personal_key_generation":
				kg.Personal = p.keyGenRule(e.Value, k, "allowed_user_roles")
			default:
				p.errAt(e.Value, k, "unknown key %q: key_generation_settings takes team_key_generation and personal_key_generation", e.Key)
			}
		}
	}
}

// keyGenBound reads one of the fields default_key_generate_params and
// upperbound_key_generate_params share (a budget, a count, a duration) into
// dst; it reports whether e is one of them.
func (p *parser) keyGenBound(e entry, k string, dst map[string]any) bool {
	switch e.Key {
	case "max_budget":
		if f, ok := p.float(e.Value, k); ok {
			dst[e.Key] = p.money(e.Value, k, f)
		}
	case "max_parallel_requests", "tpm_limit", "rpm_limit":
		if n, ok := p.nonNegInt(e.Value, k); ok {
			dst[e.Key] = float64(n)
		}
	case "budget_duration", "duration":
		if s, ok := p.duration(e.Value, k); ok {
			dst[e.Key] = s
		}
	default:
		return false
	}
	return true
}

// internalUserParams reads default_internal_user_params: any /user/new
// field; the budget, duration and teams are checked here.
func (p *parser) internalUserParams(kg *KeyGenSettings, v *yaml.Node, key string) {
	es, ok := p.mapping(v, key)
	if !ok {
		return
	}
	kg.InternalUser = map[string]any{}
	for _, e := range es {
		k := joinKey(key, e.Key)
		switch e.Key {
		case "max_budget":
			if f, ok := p.float(e.Value, k); ok {
				kg.InternalUser[e.Key] = p.money(e.Value, k, f)
			}
		case "budget_duration":
			if s, ok := p.duration(e.Value, k); ok {
				kg.InternalUser[e.Key] = s
			}
		case "teams":
			l, ok := jsonValue(p.anyValue(e.Value, k)).([]any)
			for _, t := range l {
				m, isMap := t.(map[string]any)
				if _, isStr := t.(string); !isStr && (!isMap || m["team_id"] == nil) {
					ok = false
				}
			}
			if !ok {
				p.errAt(e.Value, k, "must be a list of team ids or of {team_id, max_budget_in_team, user_role}")
				continue
			}
			kg.InternalUser[e.Key] = l
		default:
			kg.InternalUser[e.Key] = jsonValue(p.anyValue(e.Value, k))
		}
	}
}

func (p *parser) keyGenRule(v *yaml.Node, key, roles string) *KeyGenRule {
	es, ok := p.mapping(v, key)
	if !ok {
		return nil
	}
	r := &KeyGenRule{}
	for _, e := range es {
		k := joinKey(key, e.Key)
		switch e.Key {
		case roles:
			if l, ok := p.strList(e.Value, k); ok {
				r.Roles = append([]string{}, l...)
			}
		case "required_params":
			r.Required, _ = p.strList(e.Value, k)
		default:
			p.errAt(e.Value, k, "unknown key %q: takes %s and required_params", e.Key, roles)
		}
	}
	return r
}

// money bounds a budget in USD.
func (p *parser) money(n *yaml.Node, key string, f float64) float64 {
	if f < 0 || f > 1e12 {
		p.errAt(n, key, "must be between 0 and 1e12, got %v", f)
		return 0
	}
	return f
}

// duration reads a LiteLLM duration ("30d").
func (p *parser) duration(n *yaml.Node, key string) (string, bool) {
	s, ok := p.str(n, key)
	if !ok {
		return "", false
	}
	if !litellmDuration.MatchString(s) {
		p.errAt(n, key, "must be a duration such as \"30d\" (a number and s, m, h, d, w or mo), got %q", s)
		return "", false
	}
	return s, true
}

// jsonValue turns the config's ints into JSON numbers (float64), as a
// management request's body has them.
func jsonValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonValue(e)
		}
	case []any:
		for i, e := range x {
			x[i] = jsonValue(e)
		}
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}
