package config

import (
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

// litellm_settings.guardrails is LiteLLM's v1 guardrail form
// (proxy/guardrails/init_guardrails.py initialize_guardrails): a list of
// {name: {callbacks, default_on, logging_only, enabled_roles,
// callback_args}}. LiteLLM starts the callbacks of the default_on entries
// once each (callback_args merged over every entry by callback name, a
// later entry's replacing an earlier's), with no guardrail_name and no
// event hook; an entry that is not default_on starts nothing. The entries
// become the model the top-level list builds (Guardrail with Legacy set),
// for the callbacks llmgate runs:
//   - presidio: kind presidio, pre_call (and output_parse_pii), its
//     callback_args the litellm_params a v2 presidio entry takes;
//   - lakera_prompt_injection: kind lakera (Lakera Guard's
//     /v1/prompt_injection), during_call, or pre_call when callback_args
//     sets moderation_check: pre_call; api_key, api_base,
//     category_thresholds. It runs only for the entries a request's
//     metadata.guardrails mapping enables when it has one (LiteLLM's
//     should_proceed_based_on_metadata), and reads the roles of the entry
//     named prompt_injection's enabled_roles.
//
// Other callbacks warn and do not run.

// legacyCallbackKinds are the v1 callbacks llmgate runs, by the kind each
// becomes.
var legacyCallbackKinds = map[string]string{"presidio": "presidio", "lakera_prompt_injection": "lakera"}

// LakeraCallback is the v1 callback name of Lakera Guard v1, the one a
// request's metadata.guardrails mapping gates.
const LakeraCallback = "lakera_prompt_injection"

// legacyGuardrails reads litellm_settings.guardrails.
func (p *parser) legacyGuardrails(cfg *Config, n *yaml.Node, path string) {
	items, ok := p.sequence(n, path)
	if !ok {
		return
	}
	type cbArgs struct {
		entries []entry
		at      *yaml.Node
	}
	args := map[string]cbArgs{} // callback_args, merged by callback name
	var defaultOn []string      // the callbacks LiteLLM starts, first named first
	callbackAt := map[string]*yaml.Node{}
	loggingOnly := map[string]bool{}
	for i, it := range items {
		ip := fmt.Sprintf("%s[%d]", path, i)
		named, ok := p.mapping(it, ip)
		if !ok {
			continue
		}
		for _, ne := range named {
			np := joinKey(ip, ne.Key)
			spec, ok := p.mapping(ne.Value, np)
			if !ok {
				continue
			}
			var callbacks []string
			var on, logOnly, hasCallbacks bool
			for _, f := range spec {
				fk := joinKey(np, f.Key)
				switch f.Key {
				case "callbacks":
					callbacks, hasCallbacks = p.strList(f.Value, fk)
					for _, c := range callbacks {
						if callbackAt[c] == nil {
							callbackAt[c] = f.Value
						}
					}
				case "default_on":
					on, _ = p.bool(f.Value, fk)
				case "logging_only":
					logOnly, _ = p.bool(f.Value, fk)
				case "enabled_roles":
					roles, ok := p.strList(f.Value, fk)
					for _, r := range roles {
						if r != "system" && r != "user" && r != "assistant" {
							p.errAt(f.Value, fk, "unknown role %q (system, user, assistant)", r)
							ok = false
						}
					}
					if ok && ne.Key == "prompt_injection" {
						cfg.lakeraRoles = roles // LiteLLM's Lakera reads this entry's only
					}
				case "callback_args":
					cas, _ := p.mapping(f.Value, fk)
					for _, ca := range cas {
						if es, ok := p.mapping(ca.Value, joinKey(fk, ca.Key)); ok {
							args[ca.Key] = cbArgs{entries: es, at: ca.Value}
						}
					}
				default:
					p.warnAt(f.KeyNode, fk, "accepted, not implemented yet")
				}
			}
			if !hasCallbacks {
				p.errAt(ne.Value, joinKey(np, "callbacks"), "is required")
				continue
			}
			if cfg.LegacyGuardrails == nil {
				cfg.LegacyGuardrails = map[string][]string{}
			}
			cfg.LegacyGuardrails[ne.Key] = callbacks
			if !on {
				p.warnAt(ne.KeyNode, np, "guardrail %q is not default_on: as in LiteLLM its callbacks are not started for it (they run only when a default_on entry names them too)", ne.Key)
				continue
			}
			for _, c := range callbacks {
				if !slices.Contains(defaultOn, c) {
					defaultOn = append(defaultOn, c)
				}
				loggingOnly[c] = loggingOnly[c] || (logOnly && c == "presidio") // LiteLLM reads it for presidio only
			}
		}
	}
	for _, c := range defaultOn {
		kind, ok := legacyCallbackKinds[c]
		at := callbackAt[c]
		cp := joinKey(path, c)
		switch {
		case !ok:
			p.warnAt(at, cp, "callback %q: accepted, not implemented yet; it does not run (llmgate runs %s)", c, "presidio, lakera_prompt_injection")
			continue
		case loggingOnly[c]:
			p.warnAt(at, cp, "callback %q with logging_only: accepted, not implemented yet; it does not run", c)
			continue
		}
		g := Guardrail{Name: c, Legacy: true, Pos: posOf(p.fileOf(at), deref(at)), Language: "en", OnFlagged: "block"}
		mode := "pre_call"
		var params []entry
		for _, e := range args[c].entries {
			switch e.Key {
			case "guardrail", "mode", "default_on":
				p.warnAt(e.KeyNode, joinKey(joinKey(path, "callback_args."+c), e.Key), "not a %s argument: ignored", c)
			case "moderation_check":
				if kind != "lakera" {
					params = append(params, e)
					continue
				}
				switch s, _ := p.str(e.Value, joinKey(cp, e.Key)); s {
				case "pre_call":
				case "in_parallel":
					mode = "during_call"
				default:
					p.errAt(e.Value, joinKey(cp, e.Key), "must be pre_call or in_parallel, got %q", s)
				}
			default:
				params = append(params, e)
			}
		}
		if kind == "lakera" && !hasKey(args[c].entries, "moderation_check") {
			mode = "during_call" // LiteLLM's default: in_parallel, its moderation hook
		}
		params = append([]entry{synthetic(at, "guardrail", kind), synthetic(at, "mode", mode)}, params...)
		if p.guardrailParams(&g, params, joinKey(path, "callback_args."+c)) {
			cfg.Guardrails = append(cfg.Guardrails, g)
		}
	}
}

// lakeraRoles gives every lakera guardrail the roles it reads.
func (p *parser) lakeraRoles(cfg *Config) {
	roles := cfg.lakeraRoles
	if roles == nil {
		roles = []string{"system", "assistant", "user"} // LiteLLM's default_roles
	}
	for i := range cfg.Guardrails {
		if cfg.Guardrails[i].Kind == "lakera" {
			cfg.Guardrails[i].EnabledRoles = roles
		}
	}
}

// synthetic is a litellm_params entry the v1 form implies, placed at n.
func synthetic(n *yaml.Node, key, value string) entry {
	at := deref(n)
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	if at != nil {
		k.Line, k.Column, v.Line, v.Column = at.Line, at.Column, at.Line, at.Column
	}
	return entry{Key: key, KeyNode: k, Value: v}
}

func hasKey(es []entry, key string) bool {
	for _, e := range es {
		if e.Key == key {
			return true
		}
	}
	return false
}
