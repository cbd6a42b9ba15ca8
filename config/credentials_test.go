package config

import "testing"

// TestCredentialList: a deployment with litellm_credential_name takes the
// named credential's values for the keys it does not set itself (its own
// api_base wins); os.environ/ in a credential is resolved; no key of either
// warns; an unknown name, a duplicate name and an unknown credential key are
// errors with file:line.
func TestCredentialList(t *testing.T) {
	cfg := mustParse(t, `
credential_list:
  - credential_name: azure-eu
    credential_values:
      api_key: os.environ/EU_KEY
      api_base: https://eu.example
      api_version: "2024-10-21"
    credential_info: {description: production EU}
model_list:
  - model_name: a
    litellm_params: {model: azure/gpt-4o, litellm_credential_name: azure-eu}
  - model_name: b
    litellm_params: {model: azure/gpt-4o, litellm_credential_name: azure-eu, api_base: https://own.example}
`, env("EU_KEY", "eu-secret"))
	a, b := cfg.Models[0].Params, cfg.Models[1].Params
	if a.APIKey != "eu-secret" || a.APIBase != "https://eu.example" || a.APIVersion != "2024-10-21" {
		t.Errorf("a: key %q base %q version %q", a.APIKey, a.APIBase, a.APIVersion)
	}
	if b.APIKey != "eu-secret" || b.APIBase != "https://own.example" {
		t.Errorf("b: key %q base %q", b.APIKey, b.APIBase)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	le := parseErr(t, `
credential_list:
  - credential_name: c
    credential_values: {api_key: k}
  - credential_name: c
    credential_values: {api_key: k2}
    scope: x
model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o, litellm_credential_name: nope}
`, nil)
	for _, want := range []string{
		`test.yaml:5: error: credential_list[1].credential_name: "c" is already a credential's name`,
		`test.yaml:7: error: credential_list[1].scope: unknown key "scope"`,
		`test.yaml:10: error: model_list[0].litellm_params.litellm_credential_name: no credential named "nope" in credential_list`,
	} {
		if !hasDiag(le.Diagnostics, want) {
			t.Errorf("missing %q: %v", want, le.Diagnostics)
		}
	}
}
