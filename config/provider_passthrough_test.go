package config

import (
	"strings"
	"testing"
)

// TestProviderPassThroughs (D122): a provider's pass-through route exists
// only with a credential — a use_in_pass_through deployment's (its api_base
// without the path) before the provider's variables —, carries the key in
// the provider's header, checks the gateway's key, and yields to a
// pass_through_endpoints entry on the same path.
func TestProviderPassThroughs(t *testing.T) {
	const models = `model_list:
  - model_name: c
    litellm_params: {model: cohere/command-r, api_key: co-dep, api_base: "http://cohere.internal:8080/v9", use_in_pass_through: true}
  - model_name: a
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_key: ant-dep}
`
	cfg := mustParse(t, models, env("ANTHROPIC_API_KEY", "ant-env", "COHERE_API_KEY", "co-env", "GEMINI_API_KEY", "g-env", "GEMINI_API_BASE", "ftp://nope"))
	got := map[string]PassThroughEndpoint{}
	for _, ep := range cfg.General.PassThroughEndpoints {
		got[ep.Path] = ep
	}
	if a := got["/anthropic"]; a.Target == nil || a.Target.String() != "https://api.anthropic.com" || !a.Auth || !a.IncludeSubpath ||
		len(a.Headers) != 1 || a.Headers[0] != [2]string{"x-api-key", "ant-env"} || a.Provider != "anthropic" {
		t.Errorf("/anthropic from ANTHROPIC_API_KEY: %+v", a)
	}
	if c := got["/cohere"]; c.Target == nil || c.Target.String() != "http://cohere.internal:8080" || len(c.Headers) != 1 || c.Headers[0] != [2]string{"authorization", "bearer co-dep"} {
		t.Errorf("/cohere from the use_in_pass_through deployment: %+v", c)
	}
	if _, ok := got["/mistral"]; ok {
		t.Errorf("/mistral without a credential: %+v", got["/mistral"])
	}
	if _, ok := got["/gemini"]; ok || len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].String(), `"ftp://nope" is not an http(s) URL`) {
		t.Errorf("a bad GEMINI_API_BASE: route %v, warnings %v", ok, cfg.Warnings)
	}

	// /openai: both headers, /v1 in front; /openai/v1 first so that a path
	// already under /v1 is not doubled.
	cfg = mustParse(t, models, env("OPENAI_API_KEY", "oai-env"))
	var paths []string
	for _, ep := range cfg.General.PassThroughEndpoints {
		if ep.Provider == "openai" {
			paths = append(paths, ep.Path)
			if ep.Target.String() != "https://api.openai.com/v1" || len(ep.Headers) != 2 ||
				ep.Headers[0] != [2]string{"api-key", "oai-env"} || ep.Headers[1] != [2]string{"authorization", "Bearer oai-env"} {
				t.Errorf("%s from OPENAI_API_KEY: %+v", ep.Path, ep)
			}
		}
	}
	if strings.Join(paths, " ") != "/openai/v1 /openai" {
		t.Errorf("openai routes %v, want /openai/v1 then /openai", paths)
	}

	// A pass_through_endpoints entry on the path wins.
	cfg = mustParse(t, models+`general_settings:
  pass_through_endpoints:
    - {path: /anthropic, target: "http://mine.internal/x"}
`, env("ANTHROPIC_API_KEY", "ant-env"))
	n := 0
	for _, ep := range cfg.General.PassThroughEndpoints {
		if ep.Path == "/anthropic" {
			n++
			if ep.Provider != "" || ep.Target.Host != "mine.internal" {
				t.Errorf("the configured entry lost to the provider route: %+v", ep)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d /anthropic entries, want the configured one only", n)
	}
}
