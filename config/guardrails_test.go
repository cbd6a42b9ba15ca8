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

// TestGuardrailsBedrockLakera (D157): bedrock's identifier, version, AWS
// credentials, region and endpoint from the entry else the environment
// (AWS_REGION before AWS_REGION_NAME), lakera_v2's defaults; a bedrock
// entry without its identifier is an error; the list keeps every entry.
func TestGuardrailsBedrockLakera(t *testing.T) {
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "s1", "AWS_REGION_NAME": "eu-west-3", "AWS_REGION": "eu-central-1", "LAKERA_API_KEY": "lk"}[name]
		return v, ok
	}
	cfg := mustParse(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
guardrails:
  - guardrail_name: b
    litellm_params: {guardrail: bedrock, mode: pre_call, guardrailIdentifier: gid, guardrailVersion: DRAFT}
  - guardrail_name: b2
    litellm_params: {guardrail: bedrock, mode: post_call, guardrailIdentifier: gid, guardrailVersion: "2", aws_access_key_id: AKIA2, aws_secret_access_key: s2, aws_region_name: us-east-1, aws_bedrock_runtime_endpoint: "http://bedrock:8080"}
  - guardrail_name: l
    litellm_params: {guardrail: lakera_v2, mode: during_call, on_flagged: monitor}
  - guardrail_name: other
    litellm_params: {guardrail: aporia, mode: pre_call}
`, env)
	if len(cfg.Guardrails) != 3 || len(cfg.ListedGuardrails) != 4 {
		t.Fatalf("guardrails %d, listed %d: want 3 and 4", len(cfg.Guardrails), len(cfg.ListedGuardrails))
	}
	b, b2, l := cfg.Guardrails[0], cfg.Guardrails[1], cfg.Guardrails[2]
	if b.AWSAccessKeyID != "AKIA1" || b.AWSSecretAccessKey != "s1" || b.AWSRegion != "eu-central-1" || b.AWSEndpoint != "https://bedrock-runtime.eu-central-1.amazonaws.com" || b.GuardrailVersion != "DRAFT" {
		t.Errorf("b %+v", b)
	}
	if b2.AWSAccessKeyID != "AKIA2" || b2.AWSRegion != "us-east-1" || b2.AWSEndpoint != "http://bedrock:8080" || b2.GuardrailVersion != "2" {
		t.Errorf("b2 %+v", b2)
	}
	if l.APIKey != "lk" || l.APIBase != "https://api.lakera.ai" || !l.Payload || !l.Breakdown || !l.DevInfo || l.OnFlagged != "monitor" || !l.DuringCall {
		t.Errorf("l %+v", l)
	}
	le := parseErr(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
guardrails:
  - guardrail_name: b
    litellm_params: {guardrail: bedrock, mode: pre_call, guardrailVersion: "1"}
`, env)
	if !strings.Contains(le.Error(), "guardrailIdentifier and guardrailVersion are required") {
		t.Errorf("error %v", le)
	}
}

// TestGuardrailEnvDefaults (D171): each kind's row of guardrailDefaults —
// the environment when the entry leaves a value empty, else the default,
// the entry winning; a missing required value is an error naming its key.
func TestGuardrailEnvDefaults(t *testing.T) {
	e := env("GENERIC_GUARDRAIL_API_BASE", "http://generic:1", "OPENAI_API_KEY", "sk-oa", "LAKERA_API_KEY", "lk", "LAKERA_API_BASE", "http://lakera:2",
		"PRESIDIO_ANALYZER_API_BASE", "analyzer:3", "PRESIDIO_ANONYMIZER_API_BASE", "https://anon:4")
	cfg := mustParse(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
guardrails:
  - {guardrail_name: gen, litellm_params: {guardrail: generic_guardrail_api, mode: pre_call}}
  - {guardrail_name: gen2, litellm_params: {guardrail: generic_guardrail_api, mode: pre_call, api_base: "http://mine:9"}}
  - {guardrail_name: mod, litellm_params: {guardrail: openai_moderation, mode: pre_call}}
  - {guardrail_name: lak, litellm_params: {guardrail: lakera_v2, mode: pre_call}}
  - {guardrail_name: pii, litellm_params: {guardrail: presidio, mode: pre_call}}
`, e)
	got := map[string][]string{}
	for _, g := range cfg.Guardrails {
		got[g.Name] = []string{g.APIBase, g.APIKey, g.Model, g.AnalyzerBase, g.AnonymizerBase}
	}
	want := map[string][]string{
		"gen":  {"http://generic:1", "", "", "", ""},
		"gen2": {"http://mine:9", "", "", "", ""},
		"mod":  {"https://api.openai.com/v1", "sk-oa", "omni-moderation-latest", "", ""},
		"lak":  {"http://lakera:2", "lk", "", "", ""},
		"pii":  {"", "", "", "http://analyzer:3", "https://anon:4"},
	}
	for name, w := range want {
		if strings.Join(got[name], "|") != strings.Join(w, "|") {
			t.Errorf("%s: %q, want %q", name, got[name], w)
		}
	}
	le := parseErr(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
guardrails:
  - {guardrail_name: mod, litellm_params: {guardrail: openai_moderation, mode: pre_call}}
`, env())
	if !strings.Contains(le.Error(), "guardrails[0].litellm_params.api_key") || !strings.Contains(le.Error(), "OPENAI_API_KEY") {
		t.Errorf("error %v, want the missing api_key", le)
	}
}
