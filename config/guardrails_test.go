package config

import (
	"strings"
	"testing"
)

// TestGuardrails (D139): the top-level guardrails list — modes as a string,
// a list or {default: …}, os.environ/ values and the Presidio bases from
// the environment; a kind llmgate does not run warns and is left out.
func TestGuardrails(t *testing.T) {
	env := func(name string) (string, bool) {
		switch name {
		case "GKEY":
			return "secret", true
		case "PRESIDIO_ANALYZER_API_BASE":
			return "presidio-analyzer:3000", true
		case "PRESIDIO_ANONYMIZER_API_BASE":
			return "http://presidio-anonymizer:3000", true
		}
		return "", false
	}
	cfg := mustParse(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
guardrails:
  - guardrail_name: g1
    litellm_params:
      guardrail: generic_guardrail_api
      mode: [pre_call, post_call]
      api_base: http://guard:8000
      headers: {x-api-key: os.environ/GKEY}
      default_on: true
  - guardrail_name: pii
    litellm_params:
      guardrail: presidio
      mode: {default: during_call}
      pii_entities_config: {EMAIL_ADDRESS: mask}
  - guardrail_name: other
    litellm_params: {guardrail: aporia, mode: pre_call}
`, env)
	if len(cfg.Guardrails) != 2 {
		t.Fatalf("guardrails %+v, want g1 and pii", cfg.Guardrails)
	}
	g1, pii := cfg.Guardrails[0], cfg.Guardrails[1]
	if !g1.PreCall || !g1.PostCall || g1.DuringCall || !g1.DefaultOn || g1.Headers["x-api-key"] != "secret" || !g1.NeedsAnswer() {
		t.Errorf("g1 %+v", g1)
	}
	if !pii.DuringCall || pii.PreCall || pii.AnalyzerBase != "http://presidio-analyzer:3000" || pii.AnonymizerBase != "http://presidio-anonymizer:3000" || pii.PIIEntities["EMAIL_ADDRESS"] != "MASK" || pii.NeedsAnswer() {
		t.Errorf("pii %+v", pii)
	}
	warned := false
	for _, w := range cfg.Warnings {
		warned = warned || strings.Contains(w.Message, `guardrail "aporia"`)
	}
	if !warned {
		t.Errorf("no warning for the aporia guardrail: %v", cfg.Warnings)
	}
	le := parseErr(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
guardrails:
  - guardrail_name: g
    litellm_params: {guardrail: generic_guardrail_api, mode: sometimes}
`, env)
	if !strings.Contains(le.Error(), "unknown mode") {
		t.Errorf("error %v, want the unknown mode", le)
	}
}
