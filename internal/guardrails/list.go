package guardrails

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/llmgate/llmgate/config"
)

// LiteLLM's GET /guardrails/list (proxy/guardrails/guardrail_endpoints.py
// list_guardrails): every entry of the config's guardrails list as a
// GuardrailInfoResponse, its litellm_params read into BaseLitellmParams
// (an open model: its declared fields first, with their defaults, then
// the entry's other keys) after get_masked_values hid the secrets.

// baseParams are BaseLitellmParams' declared fields in their order (those
// of ContentFilterConfigModel first) with their defaults, as LiteLLM
// 1.109.1's types/guardrails.py declares them.
var baseParams = []config.GuardrailParam{
	{Key: "patterns"}, {Key: "blocked_words"}, {Key: "blocked_words_file"}, {Key: "categories"},
	{Key: "severity_threshold"}, {Key: "pattern_redaction_format"}, {Key: "keyword_redaction_tag"},
	{Key: "api_key"}, {Key: "api_base"},
	{Key: "experimental_use_latest_role_message_only", Value: false}, {Key: "only_scan_new_messages", Value: false},
	{Key: "skip_system_message_in_guardrail"}, {Key: "skip_tool_message_in_guardrail"}, {Key: "scan_only_tool_results"},
	{Key: "inspect_embeddings"}, {Key: "category_thresholds"}, {Key: "detect_secrets_config"}, {Key: "guard_name"},
	{Key: "default_on"}, {Key: "mask_request_content"}, {Key: "mask_response_content"},
	{Key: "pangea_input_recipe"}, {Key: "pangea_output_recipe"}, {Key: "model"}, {Key: "violation_message_template"},
	{Key: "end_session_after_n_fails"}, {Key: "on_violation"}, {Key: "realtime_violation_message"},
	{Key: "template_id"}, {Key: "location"}, {Key: "credentials"}, {Key: "api_endpoint"},
	{Key: "fail_on_error", Value: true}, {Key: "skip_unscannable_attachments", Value: false},
	{Key: "sanitize_error_detail", Value: true}, {Key: "additional_provider_specific_params"},
	{Key: "unreachable_fallback", Value: "fail_closed"}, {Key: "max_input_chars"}, {Key: "max_concurrent_decision_calls"},
	{Key: "forward_messages_as_sent", Value: false}, {Key: "extra_headers"}, {Key: "custom_code"},
	{Key: "num_retries"}, {Key: "timeout"}, {Key: "on_sensitive_data"}, {Key: "sensitive_data_route_to_model"},
	{Key: "sticky_session_routing", Value: true}, {Key: "run_in_parallel"}, {Key: "scan_raw_request"},
	{Key: "stream_scope"}, {Key: "logging_only_scope"}, {Key: "logging_only_continue_on_input_failure"},
}

// sensitiveWords are get_masked_values' keywords: a key holding one has
// its value masked.
var sensitiveWords = []string{"authorization", "token", "key", "secret", "vertex_credentials", "credentials", "password", "passwd"}

// List is GET /guardrails/list's answer for the config.
func List(cfg *config.Config) []byte {
	var b bytes.Buffer
	b.WriteString(`{"guardrails":[`)
	for i, g := range cfg.ListedGuardrails {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"guardrail_id":`)
		writeJSON(&b, g.ID)
		b.WriteString(`,"guardrail_name":`)
		writeJSON(&b, g.Name)
		b.WriteString(`,"litellm_params":`)
		writeParams(&b, listedParams(g.Params))
		b.WriteString(`,"guardrail_info":`)
		writeJSON(&b, g.Info)
		b.WriteString(`,"created_at":null,"updated_at":null,"guardrail_definition_location":"config"}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// listedParams are an entry's litellm_params as BaseLitellmParams holds
// them: the declared fields (the entry's value, else the default), then
// the entry's other keys in its order; secrets masked.
func listedParams(given []config.GuardrailParam) []config.GuardrailParam {
	byKey := make(map[string]any, len(given))
	for _, p := range given {
		byKey[p.Key] = p.Value
	}
	out := make([]config.GuardrailParam, 0, len(baseParams)+len(given))
	declared := make(map[string]bool, len(baseParams))
	for _, d := range baseParams {
		declared[d.Key] = true
		if v, ok := byKey[d.Key]; ok {
			d.Value = v
		}
		out = append(out, config.GuardrailParam{Key: d.Key, Value: masked(d.Key, d.Value)})
	}
	for _, p := range given {
		if !declared[p.Key] {
			out = append(out, config.GuardrailParam{Key: p.Key, Value: masked(p.Key, p.Value)})
		}
	}
	return out
}

// masked is get_masked_values on one entry: a sensitive key's string shows
// its first and last two characters around four asterisks ("*****" when
// it has four or fewer). Unlike LiteLLM, a mapping is masked at every
// depth whatever its own key (LiteLLM shows a guardrail's headers in the
// clear; a header may carry the service's credential).
func masked(key string, v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, vv := range t {
			m[k] = masked(k, vv)
		}
		return m
	case string:
		if !sensitive(key) {
			return t
		}
		r := []rune(t)
		if len(r) <= 4 {
			return "*****"
		}
		return string(r[:2]) + "****" + string(r[len(r)-2:])
	}
	return v
}

func sensitive(key string) bool {
	k := strings.ToLower(key)
	for _, w := range sensitiveWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

func writeParams(b *bytes.Buffer, ps []config.GuardrailParam) {
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(b, p.Key)
		b.WriteByte(':')
		writeJSON(b, p.Value)
	}
	b.WriteByte('}')
}

func writeJSON(b *bytes.Buffer, v any) {
	out, err := json.Marshal(v)
	if err != nil {
		out = []byte("null")
	}
	b.Write(out)
}
