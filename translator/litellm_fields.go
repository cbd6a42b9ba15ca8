package translator

import "strings"

// liteLLMOnlyFields are the request fields LiteLLM's proxy and router read
// themselves (LiteLLM's all_litellm_params, its callback params, the router's
// per-request knobs and testing switches). They never reach a provider: real
// providers answer 400 on unknown fields, and some carry credentials or
// internal metadata. OpenAI's own `metadata` is among them, as in LiteLLM.
var liteLLMOnlyFields = map[string]bool{}

// liteLLMOnlyPrefixes mark whole families of such fields.
var liteLLMOnlyPrefixes = []string{"litellm_", "user_api_key", "mock_testing_", "langfuse_", "langsmith_", "arize_",
	"humanloop_", "gcs_", "lunary_", "helicone_", "braintrust_", "posthog_", "datadog_", "opik_"}

func init() {
	for _, f := range strings.Fields(`
		metadata tags caching cache no-log ttl cache_key preset_cache_key caching_groups
		fallbacks context_window_fallbacks content_policy_fallbacks context_window_fallback_dict
		default_fallbacks max_fallbacks fallback_depth disable_fallbacks num_retries max_retries retry_policy retry_strategy
		timeout request_timeout stream_timeout force_timeout
		mock_response mock_timeout mock_delay mock_tool_calls
		api_key api_base base_url api_version custom_llm_provider organization
		aws_access_key_id aws_secret_access_key aws_session_token aws_region_name aws_role_name aws_session_name
		aws_profile_name aws_web_identity_token aws_sts_endpoint aws_bedrock_runtime_endpoint aws_external_id
		vertex_project vertex_location vertex_credentials vertex_ai_project vertex_ai_location
		azure azure_ad_token azure_ad_token_provider azure_username azure_password azure_scope tenant_id client_id client_secret
		region_name allowed_model_region
		rpm tpm weight order max_parallel_requests cooldown_time max_budget budget_duration
		input_cost_per_token output_cost_per_token input_cost_per_second output_cost_per_second
		model_info base_model hf_model_name model_list model_config model_file_id_mapping
		proxy_server_request secret_fields guardrails prompt_id prompt_variables prompt_label prompt_version
		acompletion aimg_generation atext_completion text_completion complete_response
		logger_fn verbose use_client id headers provider_specific_header
		roles final_prompt_value bos_token eos_token initial_prompt_value
		supports_system_message fastest_response ensure_alternating_roles assistant_continue_message user_continue_message
		use_in_pass_through use_litellm_proxy merge_reasoning_content_in_choices configurable_clientside_auth_params
		allowed_openai_params disable_add_transform_inline_image_block turn_off_message_logging
		spend_logs_metadata requester_metadata enable_json_schema_validation
	`) {
		liteLLMOnlyFields[f] = true
	}
}

// IsLiteLLMOnly reports whether a top-level request field is read by the
// gateway (as by LiteLLM) and must never be sent to a provider.
func IsLiteLLMOnly(field string) bool {
	if liteLLMOnlyFields[field] {
		return true
	}
	for _, p := range liteLLMOnlyPrefixes {
		if strings.HasPrefix(field, p) {
			return true
		}
	}
	return false
}
