package config

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// NamedCallback is a callback_settings entry of callback_type generic_api:
// a webhook of its own, named in callbacks / success_callback /
// failure_callback by its name (LiteLLM's named generic API loggers).
type NamedCallback struct {
	Name     string
	Endpoint string
	// Headers' values are secret.
	Headers map[string]string
	// Success and Failure are event_types (llm_api_success,
	// llm_api_failure; both when unset).
	Success, Failure bool
	// Format is log_format: "json_array" (default), "ndjson" or "single".
	Format string
}

// callbackSettings reads the top-level callback_settings: generic_api
// instances by name, and otel's message_logging (spans never carry messages
// here, so false changes nothing). Other callbacks' settings are accepted
// with a "not implemented yet" warning.
func (p *parser) callbackSettings(cfg *Config, n *yaml.Node) {
	const path = "callback_settings"
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	lg := &cfg.LiteLLM.Logging
	for _, e := range es {
		key := joinKey(path, e.Key)
		fields, ok := p.mapping(e.Value, key)
		if !ok {
			continue
		}
		typ := ""
		for _, f := range fields {
			if f.Key == "callback_type" {
				typ, _ = p.str(f.Value, joinKey(key, f.Key))
			}
		}
		switch {
		case typ == "generic_api" && implementedCallbacks[e.Key]:
			p.errAt(e.KeyNode, key, "a generic_api instance may not take the name of a built-in callback")
		case typ == "generic_api":
			if nc, ok := p.namedCallback(e.Key, key, fields); ok {
				lg.Named = append(lg.Named, nc)
				if p.named == nil {
					p.named = map[string]bool{}
				}
				p.named[e.Key] = true
			}
		case e.Key == "otel" && typ == "":
			for _, f := range fields {
				if f.Key == "message_logging" {
					_, _ = p.bool(f.Value, joinKey(key, f.Key))
					continue
				}
				p.warnAt(f.KeyNode, joinKey(key, f.Key), "accepted, not implemented yet")
			}
		default:
			p.warnAt(e.KeyNode, key, "accepted, not implemented yet (callback_settings: generic_api instances and otel.message_logging are read)")
		}
	}
	sort.Slice(lg.Named, func(i, j int) bool { return lg.Named[i].Name < lg.Named[j].Name })
}

func (p *parser) namedCallback(name, key string, fields []entry) (NamedCallback, bool) {
	nc := NamedCallback{Name: name, Success: true, Failure: true, Format: "json_array"}
	for _, f := range fields {
		fk := joinKey(key, f.Key)
		switch f.Key {
		case "callback_type":
		case "endpoint":
			nc.Endpoint, _ = p.str(f.Value, fk)
		case "headers":
			nc.Headers, _ = p.strMap(f.Value, fk)
		case "event_types":
			types, ok := p.strList(f.Value, fk)
			if !ok {
				continue
			}
			nc.Success, nc.Failure = false, false
			for i, t := range types {
				switch t {
				case "llm_api_success":
					nc.Success = true
				case "llm_api_failure":
					nc.Failure = true
				default:
					p.errAt(f.Value, fmt.Sprintf("%s[%d]", fk, i), "unknown event type %q; LiteLLM's are llm_api_success, llm_api_failure", t)
				}
			}
		case "log_format":
			s, _ := p.str(f.Value, fk)
			switch s {
			case "json_array", "ndjson", "single":
				nc.Format = s
			default:
				p.errAt(f.Value, fk, "must be json_array, ndjson or single, got %q", s)
			}
		default:
			p.warnAt(f.KeyNode, fk, "accepted, not implemented yet")
		}
	}
	if u, err := url.Parse(nc.Endpoint); nc.Endpoint == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.errAt(nil, joinKey(key, "endpoint"), "a generic_api callback needs an http(s) endpoint")
		return nc, false
	}
	return nc, true
}

// TeamCallbacks is a litellm_settings.default_team_settings entry: the
// team's requests are logged to the team's own Langfuse project (LiteLLM's
// team-based logging; the per-request Langfuse credentials), and to the
// generic_api logger when the team's lists name it.
type TeamCallbacks struct {
	TeamID string
	// Success and Failure: the team's success_callback / failure_callback
	// name langfuse.
	Success, Failure bool
	// GenericSuccess and GenericFailure: they name generic_api — the
	// team's requests are also logged to GENERIC_LOGGER_ENDPOINT (LiteLLM
	// adds a team's callbacks to its requests' own callbacks), D58.
	GenericSuccess, GenericFailure bool
	// S3Success and S3Failure: they name s3 (or s3_v2) — the team's
	// requests are also written to the s3 callback's bucket
	// (s3_callback_params).
	S3Success, S3Failure bool
	// OTel: they name otel — the team's requests are traced by the otel
	// callback (OTEL_* variables), whichever list names it.
	OTel bool
	// LangfuseHost (default: LANGFUSE_HOST, else DefaultLangfuseHost),
	// LangfusePublicKey and LangfuseSecret (secret).
	LangfuseHost      string
	LangfusePublicKey string
	LangfuseSecret    string
}

// defaultTeamSettings reads default_team_settings: a list of teams with
// their callbacks and Langfuse credentials. Callbacks other than langfuse
// and generic_api warn "not yet"; an entry without team_id is an error.
func (p *parser) defaultTeamSettings(ls *LiteLLMSettings, n *yaml.Node, path string) {
	items, ok := p.sequence(n, path)
	if !ok {
		return
	}
	for i, it := range items {
		key := fmt.Sprintf("%s[%d]", path, i)
		fields, ok := p.mapping(it, key)
		if !ok {
			continue
		}
		tc := TeamCallbacks{}
		for _, f := range fields {
			fk := joinKey(key, f.Key)
			switch f.Key {
			case "team_id":
				tc.TeamID, _ = p.str(f.Value, fk)
			case "success_callback", "failure_callback", "callbacks":
				names, _ := p.strList(f.Value, fk)
				for j, name := range names {
					switch name {
					case "langfuse":
						tc.Success = tc.Success || f.Key != "failure_callback"
						tc.Failure = tc.Failure || f.Key != "success_callback"
					case "generic_api":
						tc.GenericSuccess = tc.GenericSuccess || f.Key != "failure_callback"
						tc.GenericFailure = tc.GenericFailure || f.Key != "success_callback"
					case "otel":
						tc.OTel = true
					case "s3", "s3_v2":
						tc.S3Success = tc.S3Success || f.Key != "failure_callback"
						tc.S3Failure = tc.S3Failure || f.Key != "success_callback"
					default:
						p.warnAt(f.Value, fmt.Sprintf("%s[%d]", fk, j), "team callback %q: accepted, not implemented yet (team-based logging supports langfuse, generic_api, s3 and otel)", name)
					}
				}
			case "langfuse_public_key":
				tc.LangfusePublicKey, _ = p.str(f.Value, fk)
			case "langfuse_secret", "langfuse_secret_key":
				tc.LangfuseSecret, _ = p.str(f.Value, fk)
			case "langfuse_host":
				tc.LangfuseHost, _ = p.str(f.Value, fk)
			default:
				p.warnAt(f.KeyNode, fk, "accepted, not implemented yet")
			}
		}
		if tc.TeamID == "" {
			p.errAt(it, joinKey(key, "team_id"), "is required")
			continue
		}
		if (tc.Success || tc.Failure) && (tc.LangfusePublicKey == "" || tc.LangfuseSecret == "") {
			p.warnAt(it, key, "team %q: langfuse_public_key and langfuse_secret must be set; the team's events are not sent", tc.TeamID)
		}
		tc.LangfuseHost = strings.TrimRight(tc.LangfuseHost, "/")
		ls.TeamCallbacks = append(ls.TeamCallbacks, tc)
	}
}
