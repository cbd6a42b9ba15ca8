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

// TestLegacyGuardrails (D171): litellm_settings.guardrails, LiteLLM's v1
// form — the default_on entries' callbacks become guardrails of the v2
// model (presidio, lakera_prompt_injection as the lakera kind), each once,
// callback_args merged by callback name; the prompt_injection entry's
// enabled_roles; other callbacks, logging_only and entries that are not
// default_on warn and do not run; callbacks is required.
func TestLegacyGuardrails(t *testing.T) {
	cfg := mustParse(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
litellm_settings:
  guardrails:
    - prompt_injection:
        callbacks: [lakera_prompt_injection, hide_secrets]
        default_on: true
        enabled_roles: [user, system]
        callback_args:
          lakera_prompt_injection: {api_base: "http://old:1", category_thresholds: {jailbreak: 0.5}}
    - pii_masking:
        callbacks: [presidio]
        default_on: true
        callback_args:
          presidio: {presidio_analyzer_api_base: "http://pa:1", presidio_anonymizer_api_base: "http://pn:1", output_parse_pii: true}
          lakera_prompt_injection: {api_base: "http://lakera:1", moderation_check: pre_call}
    - other:
        callbacks: [lakera_prompt_injection]
    - logged:
        callbacks: [llmguard_moderations]
        default_on: true
        logging_only: true
guardrails:
  - guardrail_name: presidio
    litellm_params: {guardrail: generic_guardrail_api, mode: pre_call, api_base: "http://g:1"}
`, env("LAKERA_API_KEY", "lk"))
	if len(cfg.Guardrails) != 3 || len(cfg.ListedGuardrails) != 1 {
		t.Fatalf("guardrails %+v, listed %d: want lakera, presidio (v1) and the v2 one", cfg.Guardrails, len(cfg.ListedGuardrails))
	}
	l, pii, v2 := cfg.Guardrails[0], cfg.Guardrails[1], cfg.Guardrails[2]
	if l.Name != "lakera_prompt_injection" || l.Kind != "lakera" || !l.Legacy || !l.PreCall || l.DuringCall || l.APIBase != "http://lakera:1" || l.APIKey != "lk" ||
		l.CategoryThresholds != nil || strings.Join(l.EnabledRoles, ",") != "user,system" {
		t.Errorf("lakera %+v (the later callback_args replace the earlier)", l)
	}
	if pii.Name != "presidio" || pii.Kind != "presidio" || !pii.Legacy || !pii.PreCall || pii.PostCall || !pii.OutputParsePII || pii.AnalyzerBase != "http://pa:1" || !pii.NeedsAnswer() {
		t.Errorf("presidio %+v", pii)
	}
	if v2.Legacy || v2.Kind != "generic_guardrail_api" {
		t.Errorf("the v2 guardrail %+v", v2)
	}
	if got := cfg.LegacyGuardrails; len(got) != 4 || strings.Join(got["prompt_injection"], ",") != "lakera_prompt_injection,hide_secrets" || strings.Join(got["other"], ",") != "lakera_prompt_injection" {
		t.Errorf("legacy entries %v", got)
	}
	for _, want := range []string{`callback "hide_secrets": accepted, not implemented yet`, `guardrail "other" is not default_on`, `callback "llmguard_moderations": accepted, not implemented yet`} {
		found := false
		for _, w := range cfg.Warnings {
			found = found || strings.Contains(w.Message, want)
		}
		if !found {
			t.Errorf("no warning %q: %v", want, cfg.Warnings)
		}
	}
	cfg = mustParse(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
litellm_settings:
  guardrails:
    - logged: {callbacks: [presidio], default_on: true, logging_only: true}
`, env("PRESIDIO_ANALYZER_API_BASE", "http://pa:1", "PRESIDIO_ANONYMIZER_API_BASE", "http://pn:1"))
	if len(cfg.Guardrails) != 0 || len(cfg.Warnings) < 2 || !strings.Contains(cfg.Warnings[len(cfg.Warnings)-1].Message, `callback "presidio" with logging_only`) {
		t.Errorf("presidio logging_only: guardrails %+v, warnings %v", cfg.Guardrails, cfg.Warnings)
	}
	// A lakera guardrail of the top-level list reads the v1 entry's roles
	// too (LiteLLM reads them off guardrail_name_config_map); without one,
	// every role.
	cfg = mustParse(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
guardrails:
  - guardrail_name: lk
    litellm_params: {guardrail: lakera, mode: during_call, category_thresholds: {prompt_injection: 0.8}}
`, env())
	if g := cfg.Guardrails[0]; g.Kind != "lakera" || g.Legacy || g.APIBase != "https://api.lakera.ai" || strings.Join(g.EnabledRoles, ",") != "system,assistant,user" || g.CategoryThresholds["prompt_injection"] != 0.8 {
		t.Errorf("lakera %+v", g)
	}
	le := parseErr(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
litellm_settings:
  guardrails:
    - pi: {default_on: true}
`, env())
	if !strings.Contains(le.Error(), "litellm_settings.guardrails[0].pi.callbacks: is required") {
		t.Errorf("error %v", le)
	}
}
