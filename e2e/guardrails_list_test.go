package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestGuardrailsList (D157): LiteLLM's GET /guardrails/list through the
// real Envoy: every entry of the config's guardrails list (one llmgate
// does not run too) with its litellm_params as LiteLLM's BaseLitellmParams
// prints them (declared fields with their defaults, then the entry's
// others), the secrets masked; a virtual key may list, a wrong key not.
func TestGuardrailsList(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt, api_base: %[1]s/v1, api_key: k}
general_settings:
  master_key: %[2]s
environment_variables:
  GUARD_KEY: sk-guard-secret-1234
guardrails:
  - guardrail_name: words
    guardrail_id: words-id
    litellm_params:
      guardrail: generic_guardrail_api
      mode: [pre_call, post_call]
      api_base: %[1]s
      api_key: os.environ/GUARD_KEY
      default_on: true
      headers: {x-api-key: header-secret-value, x-team: shop}
    guardrail_info:
      description: blocks words
  - guardrail_name: aporia-guard
    litellm_params:
      guardrail: aporia
      mode: during_call
`, fake.URL(), master))

	code, _, b := do(t, "GET", g.URL+"/guardrails/list", master, "")
	if code != 200 {
		t.Fatalf("/guardrails/list: %d %s", code, b)
	}
	for _, s := range []string{"sk-guard-secret-1234", "header-secret-value"} {
		if strings.Contains(string(b), s) {
			t.Errorf("the list shows a secret: %s", b)
		}
	}
	defaults := `"patterns":null,"blocked_words":null,"blocked_words_file":null,"categories":null,"severity_threshold":null,"pattern_redaction_format":null,"keyword_redaction_tag":null,`
	rest := `"experimental_use_latest_role_message_only":false,"only_scan_new_messages":false,"skip_system_message_in_guardrail":null,"skip_tool_message_in_guardrail":null,"scan_only_tool_results":null,"inspect_embeddings":null,"category_thresholds":null,"detect_secrets_config":null,"guard_name":null,`
	tail := `"mask_request_content":null,"mask_response_content":null,"pangea_input_recipe":null,"pangea_output_recipe":null,"model":null,"violation_message_template":null,"end_session_after_n_fails":null,"on_violation":null,"realtime_violation_message":null,"template_id":null,"location":null,"credentials":null,"api_endpoint":null,"fail_on_error":true,"skip_unscannable_attachments":false,"sanitize_error_detail":true,"additional_provider_specific_params":null,"unreachable_fallback":"fail_closed","max_input_chars":null,"max_concurrent_decision_calls":null,"forward_messages_as_sent":false,"extra_headers":null,"custom_code":null,"num_retries":null,"timeout":null,"on_sensitive_data":null,"sensitive_data_route_to_model":null,"sticky_session_routing":true,"run_in_parallel":null,"scan_raw_request":null,"stream_scope":null,"logging_only_scope":null,"logging_only_continue_on_input_failure":null`
	want := `{"guardrails":[` +
		`{"guardrail_id":"words-id","guardrail_name":"words","litellm_params":{` + defaults +
		`"api_key":"sk****34","api_base":"` + fake.URL() + `",` + rest + `"default_on":true,` + tail +
		`,"guardrail":"generic_guardrail_api","mode":["pre_call","post_call"],"headers":{"x-api-key":"he****ue","x-team":"shop"}},` +
		`"guardrail_info":{"description":"blocks words"},"created_at":null,"updated_at":null,"guardrail_definition_location":"config"},` +
		`{"guardrail_id":null,"guardrail_name":"aporia-guard","litellm_params":{` + defaults +
		`"api_key":null,"api_base":null,` + rest + `"default_on":null,` + tail +
		`,"guardrail":"aporia","mode":"during_call"},` +
		`"guardrail_info":null,"created_at":null,"updated_at":null,"guardrail_definition_location":"config"}]}`
	if string(b) != want {
		t.Errorf("/guardrails/list\n%s\nwant\n%s", b, want)
	}
	var parsed struct {
		Guardrails []map[string]any `json:"guardrails"`
	}
	if err := json.Unmarshal(b, &parsed); err != nil || len(parsed.Guardrails) != 2 {
		t.Fatalf("not LiteLLM's list: %v %s", err, b)
	}

	// A virtual key lists them too; a wrong key and another method do not.
	code, _, kb := do(t, "POST", g.URL+"/key/generate", master, `{}`)
	var k struct {
		Key string `json:"key"`
	}
	if code != 200 || json.Unmarshal(kb, &k) != nil || k.Key == "" {
		t.Fatalf("/key/generate: %d %s", code, kb)
	}
	if code, _, vb := do(t, "GET", g.URL+"/guardrails/list", k.Key, ""); code != 200 || string(vb) != want {
		t.Errorf("a virtual key's list: %d %s", code, vb)
	}
	if code, _, wb := do(t, "GET", g.URL+"/guardrails/list", "sk-wrong", ""); code != 401 || !strings.Contains(string(wb), `"error"`) {
		t.Errorf("a wrong key: %d %s", code, wb)
	}
	if code, h, pb := do(t, "POST", g.URL+"/guardrails/list", master, "{}"); code != 405 || h.Get("allow") != "GET" {
		t.Errorf("POST /guardrails/list: %d %s", code, pb)
	}
}
