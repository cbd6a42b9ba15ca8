package config

// This file is the one place that says which LiteLLM config keys llmgate
// implements. Change a status here; docs/config-reference.md is regenerated
// from it by `go test ./config -update`.

import (
	"fmt"
	"strings"
)

// KeyStatus says how far llmgate implements a LiteLLM config key.
type KeyStatus int

const (
	// Supported keys behave as in LiteLLM.
	Supported KeyStatus = iota
	// Partial keys are implemented in part; the note says which part.
	Partial
	// NotYet keys are accepted (LiteLLM knows them) but do nothing yet; a
	// config that sets one gets a warning.
	NotYet
)

func (s KeyStatus) String() string {
	switch s {
	case Supported:
		return "supported"
	case Partial:
		return "partial"
	case NotYet:
		return "not yet"
	}
	return "unknown"
}

// Sections of the key registry.
const (
	SectionTop     = "top-level"
	SectionModel   = "model_list[]"
	SectionParams  = "litellm_params"
	SectionInfo    = "model_info"
	SectionLiteLLM = "litellm_settings"
	SectionCache   = "cache_params"
	SectionGeneral = "general_settings"
	SectionRouter  = "router_settings"
)

// KeyDoc is one row of the key registry.
type KeyDoc struct {
	Section string
	Key     string
	Status  KeyStatus
	Note    string
	// Differs marks a Partial key whose behaviour differs from LiteLLM's in a
	// way a user would notice: setting it draws a warning carrying Note.
	Differs bool
}

func sup(section, key, note string) KeyDoc {
	return KeyDoc{Section: section, Key: key, Status: Supported, Note: note}
}

func part(section, key, note string, differs bool) KeyDoc {
	return KeyDoc{Section: section, Key: key, Status: Partial, Note: note, Differs: differs}
}

func notYet(section, key, note string) KeyDoc {
	return KeyDoc{Section: section, Key: key, Status: NotYet, Note: note}
}

// requestDefault marks a litellm_params key that is a plain provider request
// parameter: it is sent with every request that does not set it itself.
const requestDefault = "request default: sent with every request that does not set it"

var keyTable = []KeyDoc{
	// Top level.
	sup(SectionTop, "model_list", "the deployments"),
	sup(SectionTop, "litellm_settings", ""),
	sup(SectionTop, "general_settings", ""),
	sup(SectionTop, "router_settings", ""),
	sup(SectionTop, "environment_variables", "applied before os.environ/ references are resolved"),
	sup(SectionTop, "include", "a file path or a list, relative to the config's directory: each file's top-level lists extend the config's, other keys replace them (LiteLLM's order); errors name the included file's line; a change to an included file reloads the config"),
	sup(SectionTop, "default_vertex_config", "vertex_project, vertex_location, vertex_credentials (service-account JSON, a path to it, or a dict; os.environ/ resolved): the credentials of the /vertex_ai/* pass-through route, else DEFAULT_VERTEXAI_PROJECT, DEFAULT_VERTEXAI_LOCATION, DEFAULT_GOOGLE_APPLICATION_CREDENTIALS; the route's /projects/…/locations/… are replaced by these, as LiteLLM (D169)"),
	sup(SectionTop, "credential_list", "named credential_values (api_key, api_base, api_version, aws_*, vertex_*, azure Entra ID fields…) that a deployment takes with litellm_params.litellm_credential_name; the deployment's own values win; credential_info is descriptive"),
	part(SectionTop, "files_settings", "a list of {custom_llm_provider, api_key, api_base, api_version, organization} (os.environ/ resolved): the credentials of /v1/files and /v1/batches (and /files, /batches, /{provider}/v1/…) for the provider a request names (the /{provider}/ path, the custom-llm-provider header, the custom_llm_provider query parameter or form/body field, default openai), each else its environment variables (OPENAI_API_KEY, OPENAI_BASE_URL/OPENAI_API_BASE; AZURE_API_KEY, AZURE_API_BASE, AZURE_API_VERSION); LiteLLM reads the entry only for an upload (which fails with a 500 without files_settings) and the environment on the other routes, llmgate reads the entry on every route. Providers openai and azure; others (vertex_ai, bedrock…) warn and are ignored. LiteLLM's routing by model: the model form field, ?model= or the x-litellm-model header (or an id that carries the model) take the credentials of that model_list group instead, the key's models checked, ids written with the model as LiteLLM writes them. Not yet: target_model_names (managed files: LiteLLM Enterprise with a database), enable_loadbalancing_on_batch_endpoints", false),
	notYet(SectionTop, "finetune_settings", ""),
	notYet(SectionTop, "assistant_settings", ""),
	part(SectionTop, "guardrails", "guardrail_name and litellm_params: guardrail generic_guardrail_api (api_base, else GENERIC_GUARDRAIL_API_BASE; headers; additional_provider_specific_params, merged with a request's extra_body) and presidio (presidio_analyzer_api_base / presidio_anonymizer_api_base, else PRESIDIO_*_API_BASE; presidio_language; pii_entities_config MASK/BLOCK; presidio_score_thresholds; output_parse_pii) and openai_moderation (api_key, else OPENAI_API_KEY; api_base, default https://api.openai.com/v1; model, default omni-moderation-latest; the last block of user messages, or the answer) and bedrock (Bedrock ApplyGuardrail: guardrailIdentifier, guardrailVersion, outputScope; aws_access_key_id / aws_secret_access_key / aws_session_token, else AWS_ACCESS_KEY_ID …; aws_region_name, else AWS_REGION / AWS_REGION_NAME, else us-west-2; aws_bedrock_runtime_endpoint, else AWS_BEDROCK_RUNTIME_ENDPOINT; SigV4-signed; the messages' texts as INPUT, the answer's contents as OUTPUT; a BLOCKED assessment is LiteLLM's 400 with its detail dict, anonymized outputs replace the texts) and lakera (Lakera Guard v1's /v1/prompt_injection: api_key, else LAKERA_API_KEY; api_base, else LAKERA_API_BASE, else https://api.lakera.ai; category_thresholds prompt_injection / jailbreak; pre_call or during_call; flagged, or a score at a threshold, is LiteLLM's 400 with its detail dict) and lakera_v2 (Lakera Guard v2: api_key, else LAKERA_API_KEY; api_base, else LAKERA_API_BASE, else https://api.lakera.ai; project_id, payload, breakdown, metadata, dev_info; on_flagged block or monitor — mask and inject_system_message warn and block; post_call reads the request's messages with the answer), mode pre_call / during_call (run before the provider is called, the pre_call ones first as LiteLLM's hooks: a during_call guardrail blocks but never changes the request) / post_call (non-streamed answers of chat completions and /v1/messages; streamed chat completions as LiteLLM's unified guardrail reads them: every streaming_sampling_rate chunks, default 5, and at the end, or only at the end with streaming_end_of_stream_only; a block mid-way ends the stream with LiteLLM's in-stream error frame and [DONE]), default_on; a request runs the default_on ones and those it names in guardrails or metadata.guardrails (a key's, else its team's metadata.guardrails replace the request's; a key's, else its team's metadata.disable_global_guardrails: true skips the default_on ones); a block answers LiteLLM's status and error JSON (the generic API's: 400, its blocked_reason); answers name the guardrails that ran in x-litellm-applied-guardrails. A config with guardrails is served by the ext_proc request filter, not the module. GET /guardrails/list shows every entry (guardrail_id, guardrail_info, litellm_params with LiteLLM's defaults, secrets masked). Other guardrail kinds, mode tags and logging_only warn and do not run", false),
	part(SectionTop, "mcp_servers", "served at /mcp (MCP over streamable HTTP: every server's tools, named {server}-{tool} as LiteLLM names them, unprefixed when one server is in scope, MCP_TOOL_PREFIX_SEPARATOR honoured; tools/call forwarded to the tool's server; servers chosen by /mcp/{a,b}, /{server}/mcp or the x-mcp-servers header; x-mcp-{server}-{header} sends the client's own header to that server), /mcp-rest/tools/list and /mcp-rest/tools/call; master key or virtual key (x-litellm-api-key or Authorization; a blocked or expired key, a blocked team refused). Per server: url, transport http or sse, auth_type none, api_key (X-API-Key), bearer_token, basic (username:password base64-encoded), token, authorization, with auth_value or authentication_token (os.environ/ resolved), description, alias, mcp_info, allowed_tools, disallowed_tools, static_headers, extra_headers (client headers copied upstream). Not yet: stdio servers, oauth2, aws_sigv4, true_passthrough, a key's or team's object_permission.mcp_servers, access_groups, x-mcp-auth, prompts and resources", false),
	part(SectionTop, "search_tools", "search_tool_name, search_tool_info.description and litellm_params: search_provider tavily (api_key, else TAVILY_API_KEY; api_base, else TAVILY_API_BASE, else https://api.tavily.com) or perplexity (PERPLEXITYAI_API_KEY, PERPLEXITY_API_BASE, https://api.perplexity.ai), input_cost_per_query, and other params sent with every search. Served: POST /v1/search/{search_tool_name}, /search/{search_tool_name}, /v1/search and /search (search_tool_name in the body) in LiteLLM's unified form (query, max_results, search_domain_filter, max_tokens_per_page, country, provider fields), sent in the provider's wire format and answered as LiteLLM's SearchResponse; GET /v1/search/tools; master key or virtual key (budget checked, the search priced per query as LiteLLM: tavily/search 0.008, tavily/search-advanced 0.016, perplexity/search 0.005 USD, x-litellm-response-cost). Entries sharing a name: one picked at random. Not yet: other providers (exa_ai, brave, serper, …), search_tools in general_settings, a key's or team's search-tool permissions, fallbacks between tools, spend-log rows for the master key (D150)", false),
	part(SectionTop, "vector_store_registry", "vector_store_name and litellm_params: vector_store_id, custom_llm_provider openai (api_key, else OPENAI_API_KEY; api_base, else OPENAI_BASE_URL / OPENAI_API_BASE, else https://api.openai.com/v1) or bedrock (a knowledge base: aws_access_key_id / aws_secret_access_key / aws_session_token, else AWS_*; aws_region_name, else AWS_REGION / AWS_REGION_NAME, else us-west-2; api_base or aws_bedrock_runtime_endpoint, else bedrock-agent-runtime.{region}.amazonaws.com; SigV4), vector_store_description, and search parameters (max_num_results, filters, ranking_options, rewrite_query) that win over a request's. Served: POST /v1/vector_stores/{id}/search and /vector_stores/{id}/search (an id no entry names goes to OpenAI with the environment's key, as LiteLLM); a chat completion naming a registered store in vector_store_ids or a tool's vector_store_ids (file_search) has them taken out, each store searched with the last message's text and the results put before that message as a user message \"Context:\\n\\n…\", as LiteLLM's vector store hook; a failed search is left out; a non-streamed answer's messages get provider_specific_fields.search_results (the pages) and vector_store_search_failures, as LiteLLM's post-call hook. A config with a registry is served by the ext_proc request filter, not the module. Not yet: the search results on a streamed answer's last chunk, a key's object_permission.vector_stores, other providers, the create/list/retrieve/update/delete routes (D150)", false),
	part(SectionTop, "callback_settings", "generic_api instances by name (callback_type, endpoint, headers, event_types, log_format) and otel.message_logging; other callbacks' settings warn \"not yet\"", false),
	notYet(SectionTop, "model_group_settings", ""),

	// A model_list entry.
	sup(SectionModel, "model_name", "the model group; '*' makes it a wildcard pattern"),
	sup(SectionModel, "litellm_params", ""),
	sup(SectionModel, "model_info", ""),
	sup(SectionModel, "rpm", "as litellm_params.rpm; wins when both are set (LiteLLM's router reads it first)"),
	sup(SectionModel, "tpm", "as litellm_params.tpm; wins when both are set (LiteLLM's router reads it first)"),
	sup(SectionModel, "itpm", "as litellm_params.itpm; wins when both are set (LiteLLM reads it first)"),
	sup(SectionModel, "otpm", "as litellm_params.otpm; wins when both are set (LiteLLM reads it first)"),

	// litellm_params: named fields.
	sup(SectionParams, "model", "provider/model-id; the provider is inferred for bare names"),
	sup(SectionParams, "api_key", "else the provider's key env var"),
	sup(SectionParams, "api_base", "else the provider's base env var, else its public endpoint; query parameters (key=…) go to the provider on every request and are redacted where api_base is shown; user:password@ is an error"),
	sup(SectionParams, "api_version", "azure; else AZURE_API_VERSION"),
	sup(SectionParams, "organization", "a list makes one deployment per organization"),
	sup(SectionParams, "rpm", "deployment limit and load-balancing weight"),
	sup(SectionParams, "tpm", "deployment limit and load-balancing weight"),
	sup(SectionParams, "weight", "load-balancing weight"),
	sup(SectionParams, "timeout", "seconds"),
	sup(SectionParams, "stream_timeout", "seconds"),
	sup(SectionParams, "max_retries", "retries of a request whose first try is this deployment (at most 100)"),
	part(SectionParams, "num_retries", "as max_retries, and wins over it; LiteLLM retries inside the call to this deployment, llmgate plans the retries like router num_retries", false),
	sup(SectionParams, "extra_headers", ""),
	sup(SectionParams, "headers", "merged into extra_headers"),
	sup(SectionParams, "aws_access_key_id", "else AWS_ACCESS_KEY_ID"),
	sup(SectionParams, "aws_secret_access_key", "else AWS_SECRET_ACCESS_KEY"),
	sup(SectionParams, "aws_session_token", "else AWS_SESSION_TOKEN"),
	sup(SectionParams, "aws_region_name", "else AWS_REGION_NAME, AWS_REGION, AWS_DEFAULT_REGION"),
	sup(SectionParams, "aws_bedrock_runtime_endpoint", "bedrock: where requests go (VPC endpoint, proxy), else AWS_BEDROCK_RUNTIME_ENDPOINT; api_base wins; still signed for aws_region_name"),
	sup(SectionParams, "vertex_project", "else VERTEXAI_PROJECT"),
	sup(SectionParams, "vertex_location", "else VERTEXAI_LOCATION"),
	sup(SectionParams, "vertex_credentials", "JSON text, a path, or a mapping (kept as JSON)"),
	sup(SectionParams, "mock_response", "answered by the gateway; no provider is called"),
	part(SectionParams, "mock_timeout", "testing switch: a request whose first try is this deployment waits its timeout (at most 50 s) and fails with 408, no provider called; LiteLLM would then retry and fall back", true),
	sup(SectionParams, "drop_params", ""),
	sup(SectionParams, "additional_drop_params", ""),
	sup(SectionParams, "max_parallel_requests", "per instance, as LiteLLM's semaphore: tries in flight counted; a deployment at it is left out of plans (other deployments, fallbacks, else 429) and a racing try is refused with a 429 (LiteLLM waits). In ext_proc mode with Redis the count is shared by the instances, and an instance that dies holding slots gives them back within 10 s"),
	sup(SectionParams, "cooldown_time", "per-deployment cooldown, seconds"),
	sup(SectionParams, "custom_llm_provider", "overrides the provider prefix; the whole model string is the model id"),
	sup(SectionParams, "input_cost_per_token", "copied into model_info when model_info does not set it"),
	sup(SectionParams, "output_cost_per_token", "copied into model_info when model_info does not set it"),
	// litellm_params: LiteLLM params not implemented yet.
	sup(SectionParams, "tags", "tag routing (router_settings.enable_tag_filtering; \"default\" takes untagged and unmatched requests), and added to the spend logs' request_tags of the requests this deployment answers (/spend/tags)"),
	sup(SectionParams, "region_name", "the deployment's region (eu, us): with router_settings.enable_pre_call_checks, a request whose end user (the body's user: a /customer/new row) has an allowed_model_region goes only to the deployments of that region, as LiteLLM's is_region_allowed (one without region_name takes none of them; none left: 429 No deployments available)"),
	sup(SectionParams, "use_in_pass_through", "the deployment's api_key and api_base (its host; the path is the client's) serve its provider's pass-through route (/anthropic, /cohere, /mistral, /gemini), before the provider's *_API_KEY variable"),
	sup(SectionParams, "litellm_credential_name", "takes the credential_values of that credential_list entry for each key the deployment does not set (a name not in credential_list is an error)"),
	sup(SectionParams, "azure_ad_token", "azure: a bearer token sent as it is (Authorization: Bearer), before api_key, as LiteLLM's Azure client does; else AZURE_AD_TOKEN. Not yet: oidc/ tokens"),
	sup(SectionParams, "tenant_id", "azure, with client_id and client_secret and no api_key: an Entra ID token (client credentials) from AZURE_AUTHORITY_HOST (else login.microsoftonline.com), renewed off the request path; else AZURE_TENANT_ID. Such deployments take the attempt filter, not the fast path"),
	sup(SectionParams, "client_id", "azure: Entra ID client credentials (with tenant_id, client_secret) or username/password (with azure_username, azure_password); else AZURE_CLIENT_ID"),
	sup(SectionParams, "client_secret", "azure: Entra ID client credentials; else AZURE_CLIENT_SECRET"),
	sup(SectionParams, "azure_username", "azure, with azure_password and client_id and no api_key or client secret: an Entra ID token (resource owner password; tenant_id, else organizations); else AZURE_USERNAME"),
	sup(SectionParams, "azure_password", "azure: see azure_username; else AZURE_PASSWORD"),
	sup(SectionParams, "azure_scope", "azure: the Entra ID token's scope; else AZURE_SCOPE, else https://cognitiveservices.azure.com/.default"),
	sup(SectionParams, "aws_role_name", "bedrock: a role ARN assumed over STS (AssumeRole; its source the static keys, else the profile, else the SDK's chain), else AWS_ROLE_NAME; the temporary keys sign the requests, renewed off the request path"),
	sup(SectionParams, "aws_session_name", "bedrock: the role session's name (else AWS_SESSION_NAME; LiteLLM's litellm-session-<unix time> when none)"),
	sup(SectionParams, "aws_web_identity_token", "bedrock: an OIDC token's value (os.environ/…): with aws_role_name and aws_session_name, STS AssumeRoleWithWebIdentity; else AWS_WEB_IDENTITY_TOKEN"),
	sup(SectionParams, "aws_sts_endpoint", "bedrock: where STS calls go (else AWS_STS_ENDPOINT; AWS's regional endpoint when none)"),
	sup(SectionParams, "aws_profile_name", "bedrock: a profile of the shared AWS config and credentials files (else AWS_PROFILE_NAME)"),
	sup(SectionParams, "aws_external_id", "bedrock: AssumeRole's ExternalId (else AWS_EXTERNAL_ID)"),
	sup(SectionParams, "input_cost_per_second", "copied into model_info when model_info does not set it; prompt cost = price × the try's duration when the per-token input price is not set or 0"),
	sup(SectionParams, "output_cost_per_second", "copied into model_info when model_info does not set it; completion cost = price × the try's duration when the per-token output price is not set or 0"),
	sup(SectionParams, "max_budget", "USD per budget_duration (both needed): once the deployment's answers cost it, plans leave the deployment out until its window ends (the window starts at the first spend); none left: 429 \"No deployments available - crossed budget\". Spend in the router's store (shared with Redis); in module mode such groups are planned by ext_proc"),
	sup(SectionParams, "budget_duration", "the window of max_budget (\"30s\", \"1h\", \"1d\", \"1mo\")"),
	sup(SectionParams, "max_file_size_mb", "/v1/audio/transcriptions: a file over this many MB (MiB) is refused with LiteLLM's 400 (\"File size is too large. …\", param file); the group's first deployment's value counts, as in LiteLLM"),
	notYet(SectionParams, "use_litellm_proxy", ""),
	part(SectionParams, "merge_reasoning_content_in_choices", "streamed answers of translated deployments (Anthropic, Bedrock, Gemini, …): each chunk's reasoning_content goes into its content as <think>…</think>, as LiteLLM's stream wrapper does; whole answers are left alone (as in LiteLLM). Not yet: an OpenAI-compatible deployment's stream passes as the provider sent it", true),
	sup(SectionParams, "configurable_clientside_auth_params", "a list of param names (\"api_base\", \"base_url\", …) and {api_base: regex} entries: a request for this model group (its last deployment's list, as LiteLLM's model group info; a wildcard request's provider prefix names the group) may carry those banned body params without allow_client_side_credentials; a regex allows an api_base it matches at its start (Python's re.match) or equals; a regex Go cannot compile is a load error. The request then goes to its own api_base with its own api_key, as allow_client_side_credentials says (D156)"),
	notYet(SectionParams, "auto_router_config", ""),
	part(SectionParams, "guardrails", "model-level guardrails: a name or a list of the top-level guardrails list's names; a request to the model group runs them besides those it (or its key or team) names, the union over the group's deployments as LiteLLM's pre_call merge; post_call reads the same union (LiteLLM: the deployment that answered)", true),
	part(SectionParams, "cache_control_injection_points", "Anthropic deployments: location \"message\" points (role, or index: negative from the end, an integer string too; control, else {type: ephemeral}) mark chat messages before the call as LiteLLM's AnthropicCacheControlHook — a string content on its text block, a list content on its last part — never a message already marked, at most 4 marks with the client's; a client's own cache_control reaches Anthropic too. Not yet: location tool_config, Bedrock's cachePoint, OpenAI's prompt_cache_breakpoint", true),
	sup(SectionParams, "order", "deployment priority in its model group: the lowest order among the deployments that can take a request answers it; each higher order is then a fallback of its own (1 + num_retries tries, counted in x-litellm-attempted-fallbacks and max_fallbacks) before the group's fallbacks"),
	notYet(SectionParams, "metadata", ""),
	notYet(SectionParams, "initial_prompt_value", "custom prompt templates: LiteLLM applies them only where it builds one text prompt (ollama/ on /api/generate, sagemaker, replicate, watsonx, petals, …), never to chat APIs (OpenAI, Azure, Anthropic, Bedrock Converse, Gemini); not yet on llmgate's ollama/ translator"),
	notYet(SectionParams, "roles", "custom prompt templates: LiteLLM applies them only where it builds one text prompt (ollama/ on /api/generate, sagemaker, replicate, watsonx, petals, …), never to chat APIs (OpenAI, Azure, Anthropic, Bedrock Converse, Gemini); not yet on llmgate's ollama/ translator"),
	notYet(SectionParams, "final_prompt_value", "custom prompt templates: LiteLLM applies them only where it builds one text prompt (ollama/ on /api/generate, sagemaker, replicate, watsonx, petals, …), never to chat APIs (OpenAI, Azure, Anthropic, Bedrock Converse, Gemini); not yet on llmgate's ollama/ translator"),
	notYet(SectionParams, "bos_token", "custom prompt templates: LiteLLM applies them only where it builds one text prompt (ollama/ on /api/generate, sagemaker, replicate, watsonx, petals, …), never to chat APIs (OpenAI, Azure, Anthropic, Bedrock Converse, Gemini); not yet on llmgate's ollama/ translator"),
	notYet(SectionParams, "eos_token", "custom prompt templates: LiteLLM applies them only where it builds one text prompt (ollama/ on /api/generate, sagemaker, replicate, watsonx, petals, …), never to chat APIs (OpenAI, Azure, Anthropic, Bedrock Converse, Gemini); not yet on llmgate's ollama/ translator"),
	notYet(SectionParams, "deployment_id", ""),
	notYet(SectionParams, "project_id", ""),
	notYet(SectionParams, "watsonx_region_name", ""),
	// litellm_params: other params LiteLLM's router and proxy read there; none reaches a provider.
	notYet(SectionParams, "fallbacks", "router params per deployment: set fallbacks in router_settings"),
	notYet(SectionParams, "context_window_fallback_dict", "router params per deployment: set context_window_fallbacks in router_settings"),
	notYet(SectionParams, "retry_policy", "router params per deployment: set retry_policy in router_settings"),
	notYet(SectionParams, "retry_strategy", ""),
	sup(SectionParams, "request_timeout", "seconds: the deployment's timeout when timeout is not set (LiteLLM's order)"),
	sup(SectionParams, "force_timeout", "LiteLLM's legacy parameter, which LiteLLM no longer reads: accepted, no effect (use timeout)"),
	notYet(SectionParams, "max_fallbacks", "set max_fallbacks in router_settings"),
	notYet(SectionParams, "fallback_depth", ""),
	part(SectionParams, "mock_delay", "testing switch: a mock_response answer waits this many seconds first (at most 50 s), as LiteLLM; with mock_timeout alone it adds nothing (LiteLLM waits it first)", false),
	sup(SectionParams, "litellm_proxy_rate_limit_response", "accepted, no effect, as in LiteLLM: the name is of the rate limiter's internal per-request state (parallel_request_limiter_v3), which no setting reads"),
	notYet(SectionParams, "model_info", "use the entry's model_info"),
	sup(SectionParams, "base_model", "the model whose prices and limits apply (Azure deployment names), when model_info.base_model is not set; shown as model_info.base_model"),
	notYet(SectionParams, "caching", ""),
	notYet(SectionParams, "caching_groups", ""),
	notYet(SectionParams, "cache", ""),
	notYet(SectionParams, "ttl", ""),
	notYet(SectionParams, "cache_key", ""),
	notYet(SectionParams, "preset_cache_key", ""),
	notYet(SectionParams, "no-log", ""),
	sup(SectionParams, "supports_system_message", "false: a chat request's system messages are merged into the next user/assistant message's text (else sent as user messages), as LiteLLM's map_system_message_pt; content parts there are a 400"),
	notYet(SectionParams, "allowed_model_region", "LiteLLM reads it from the end user's record (and the request), not from litellm_params; not yet"),
	notYet(SectionParams, "fastest_response", ""),
	notYet(SectionParams, "use_client", ""),
	notYet(SectionParams, "id", "use model_info.id"),
	notYet(SectionParams, "azure", ""),
	notYet(SectionParams, "litellm_metadata", ""),
	notYet(SectionParams, "litellm_trace_id", ""),
	notYet(SectionParams, "litellm_session_id", ""),
	notYet(SectionParams, "prompt_id", "prompt management"),
	notYet(SectionParams, "prompt_variables", "prompt management"),
	notYet(SectionParams, "prompt_label", "prompt management"),
	notYet(SectionParams, "provider_specific_header", ""),
	notYet(SectionParams, "logger_fn", ""),
	notYet(SectionParams, "verbose", ""),
	notYet(SectionParams, "model_file_id_mapping", ""),
	notYet(SectionParams, "hf_model_name", ""),
	sup(SectionParams, "ensure_alternating_roles", "chat requests, before the call (any provider), as LiteLLM's get_completion_messages: user_continue_message before a first assistant turn, between two assistant turns and after a last one; assistant_continue_message between two user turns (tool messages and assistant tool calls skipped). The deployment leaves the fast path"),
	sup(SectionParams, "assistant_continue_message", "with ensure_alternating_roles: the message inserted between two user turns (else {role: assistant, content: \"Please continue.\"})"),
	sup(SectionParams, "user_continue_message", "with ensure_alternating_roles: the message inserted around assistant turns (else {role: user, content: \"Please continue.\"})"),
	part(SectionParams, "allowed_openai_params", "Anthropic deployments: the listed params the translator does not map are neither refused nor dropped by drop_params and reach the provider's body as sent, as LiteLLM's apply_openai_param_overrides; additional_drop_params still drop them. OpenAI-compatible deployments get every param anyway. Not yet: the other translated providers (Bedrock, Gemini, …)", true),
	part(SectionParams, "itpm", "with optional_pre_call_checks' enforce_model_rate_limits: the deployment's input tokens per UTC minute (prompt tokens less cached ones, counted from each answer's usage, shared in Redis); a deployment whose count plus the request's counted prompt is over it is not tried, and a group with none left is refused 429 \"litellm.RateLimitError: Model rate limit exceeded. ITPM limit=…, current usage=…\". LiteLLM reserves the estimate before the call; here nothing is reserved (no round trip before the call), so requests in flight together may pass it by their own tokens", true),
	part(SectionParams, "otpm", "as itpm for the output (completion) tokens: the request's max_tokens / max_completion_tokens / max_output_tokens, else min(the model's max output or 4096, the deployment's max_tokens, a quarter of otpm), must fit in what is left of the minute", true),
	part(SectionParams, "rpd", "with enforce_model_rate_limits: the deployment's requests per day (every try counted when its outcome is known, shared in Redis); at the limit 429 \"… RPD limit=…\" with a retry-after to the next daily reset. LiteLLM counts a request before the call; here requests in flight together may pass it by their number", true),
	part(SectionParams, "tpd", "with enforce_model_rate_limits: the deployment's total tokens per day, from each answer's usage; once reached, 429 \"… TPD limit=…\" with a retry-after to the next daily reset", true),
	sup(SectionParams, "daily_reset_time", "\"HH:MM\" UTC when the rpd/tpd day starts (midnight UTC when unset)"),
	sup(SectionParams, "tag_regex", "tag routing: patterns (Go regexp syntax; an invalid one is skipped with a warning) matched against \"User-Agent: <value>\" when no tag matched; a User-Agent then filters the group as tags do"),
	part(SectionParams, "default_api_key_tpm_limit", "each virtual key's tokens per minute on this model group when the key has no model limit of its own (LiteLLM's get_key_model_tpm_limit; the group's smallest value over its deployments; 429 \"Rate limit exceeded for model_per_key: …\"); 0 is no limit; the master key is counted under its alias (litellm_proxy_master_key:<group>, one bucket for all its callers) and a JWT under its hash (hashed-jwt-<sha256>:<group>), as LiteLLM's v3 limiter counts every caller's api_key; a key's or team's metadata.model_tpm_limit and model_max_budget's tpm_limit are not read", true),
	part(SectionParams, "default_api_key_rpm_limit", "each virtual key's requests per minute on this model group, as default_api_key_tpm_limit (LiteLLM's get_key_model_rpm_limit)", true),
	notYet(SectionParams, "keepalive_seconds", ""),
	notYet(SectionParams, "allow_client_keepalive_override", ""),
	sup(SectionParams, "use_chat_completions_api", "the deployment answers /v1/responses through LiteLLM's chat completions bridge (the provider gets /chat/completions) even when its provider has a Responses API; its responses cannot be read by id"),
	sup(SectionParams, "realtime_protocol", "an Azure deployment's realtime endpoint (/v1/realtime WebSocket sessions): GA or v1 (any case) → /openai/v1/realtime?model=…, anything else → the beta /openai/realtime?api-version=…&deployment=…; unset: LITELLM_AZURE_REALTIME_PROTOCOL, else GA for intent=transcription, else beta when the client sent OpenAI-Beta: realtime=v1, else GA, as LiteLLM chooses. OpenAI deployments ignore it, as LiteLLM's"),
	notYet(SectionParams, "aws_bedrock_project_id", ""),
	notYet(SectionParams, "gcs_bucket_name", "files and batches"),
	notYet(SectionParams, "s3_bucket_name", "files and batches"),
	notYet(SectionParams, "s3_region_name", "files and batches"),
	notYet(SectionParams, "s3_encryption_key_id", "files and batches"),
	notYet(SectionParams, "aws_batch_role_arn", "files and batches"),
	notYet(SectionParams, "s3_output_bucket_name", "files and batches"),
	notYet(SectionParams, "bedrock_tags", ""),
	notYet(SectionParams, "vector_store_id", "vector stores"),
	// litellm_params: request defaults.
	sup(SectionParams, "temperature", requestDefault),
	sup(SectionParams, "top_p", requestDefault),
	sup(SectionParams, "top_k", requestDefault),
	sup(SectionParams, "n", requestDefault),
	sup(SectionParams, "stop", requestDefault),
	sup(SectionParams, "max_tokens", requestDefault),
	sup(SectionParams, "max_completion_tokens", requestDefault),
	sup(SectionParams, "presence_penalty", requestDefault),
	sup(SectionParams, "frequency_penalty", requestDefault),
	sup(SectionParams, "logit_bias", requestDefault),
	sup(SectionParams, "user", requestDefault),
	sup(SectionParams, "seed", requestDefault),
	sup(SectionParams, "response_format", requestDefault),
	sup(SectionParams, "tools", requestDefault),
	sup(SectionParams, "tool_choice", requestDefault),
	sup(SectionParams, "parallel_tool_calls", requestDefault),
	sup(SectionParams, "logprobs", requestDefault),
	sup(SectionParams, "top_logprobs", requestDefault),
	sup(SectionParams, "reasoning_effort", requestDefault),
	sup(SectionParams, "thinking", requestDefault),
	sup(SectionParams, "modalities", requestDefault),
	sup(SectionParams, "audio", requestDefault),
	sup(SectionParams, "prediction", requestDefault),
	sup(SectionParams, "service_tier", requestDefault),
	sup(SectionParams, "store", requestDefault),
	sup(SectionParams, "stream_options", requestDefault),
	sup(SectionParams, "web_search_options", requestDefault),
	sup(SectionParams, "dimensions", requestDefault),
	sup(SectionParams, "encoding_format", requestDefault),
	sup(SectionParams, "safety_settings", requestDefault),
	sup(SectionParams, "extra_body", requestDefault),

	// model_info. Keys not listed here are passed through to /model/info.
	sup(SectionInfo, "id", "the deployment id"),
	sup(SectionInfo, "mode", "chat, completion, embedding, ..."),
	sup(SectionInfo, "input_cost_per_token", ""),
	sup(SectionInfo, "output_cost_per_token", ""),
	sup(SectionInfo, "input_cost_per_second", "see litellm_params.input_cost_per_second; on /v1/audio/transcriptions price × the audio's seconds (the answer's usage.seconds or duration, else a WAV file's length), not the try's duration"),
	sup(SectionInfo, "output_cost_per_second", "see litellm_params.output_cost_per_second; on /v1/audio/transcriptions the price of a second of audio (before input_cost_per_second), as LiteLLM prices whisper"),
	sup(SectionInfo, "output_cost_per_image", "/v1/images/generations: the price of one generated image"),
	sup(SectionInfo, "input_cost_per_pixel", "/v1/images/generations without output_cost_per_image: price × width × height × images (size from the request, 1024x1024 by default)"),
	sup(SectionInfo, "input_cost_per_character", "/v1/audio/speech: price × the input's characters, whitespace not counted (LiteLLM's count_characters)"),
	sup(SectionInfo, "cache_read_input_token_cost", "the price of a prompt token read from the provider's prompt cache (usage's cached_tokens: Anthropic's cache_read_input_tokens, OpenAI's prompt_tokens_details.cached_tokens); unset: the built-in model facts' price, else input_cost_per_token"),
	sup(SectionInfo, "cache_creation_input_token_cost", "the price of a prompt token written to the provider's prompt cache (Anthropic's cache_creation_input_tokens, Bedrock's cacheWriteInputTokens); unset: the built-in model facts' price, else input_cost_per_token"),
	sup(SectionInfo, "input_cost_per_query", "/v1/rerank: price × the answer's meta.billed_units.search_units (1 when absent)"),
	sup(SectionInfo, "max_tokens", ""),
	sup(SectionInfo, "itpm", "as litellm_params.itpm, read when litellm_params has none (LiteLLM's order)"),
	sup(SectionInfo, "otpm", "as litellm_params.otpm, read when litellm_params has none"),
	sup(SectionInfo, "max_input_tokens", ""),
	sup(SectionInfo, "max_output_tokens", ""),
	sup(SectionInfo, "base_model", ""),
	sup(SectionInfo, "supported_environments", "compared with LITELLM_ENVIRONMENT"),
	sup(SectionInfo, "metadata", ""),
	sup(SectionInfo, "access_groups", "a key's or team's `models` naming a group allow every model group with a deployment in it"),
	sup(SectionInfo, "health_check_model", "the model health checks (/health, background_health_checks) call instead of litellm_params.model, e.g. openai/gpt-4o-mini for an openai/* wildcard; its provider must be the deployment's. A wildcard deployment without it is not checked (LiteLLM calls the wildcard and lists it unhealthy)"),
	sup(SectionInfo, "health_check_timeout", "seconds one health check of this deployment may take; default $HEALTH_CHECK_TIMEOUT_SECONDS, else 60"),
	notYet(SectionInfo, "team_id", ""),
	notYet(SectionInfo, "tier", ""),

	// litellm_settings.
	sup(SectionLiteLLM, "drop_params", ""),
	sup(SectionLiteLLM, "additional_drop_params", ""),
	sup(SectionLiteLLM, "num_retries", "feeds router_settings.num_retries"),
	sup(SectionLiteLLM, "request_timeout", "feeds router_settings.timeout"),
	sup(SectionLiteLLM, "fallbacks", "feeds router_settings.fallbacks"),
	sup(SectionLiteLLM, "context_window_fallbacks", "feeds router_settings"),
	sup(SectionLiteLLM, "content_policy_fallbacks", "feeds router_settings"),
	sup(SectionLiteLLM, "default_fallbacks", "feeds router_settings"),
	sup(SectionLiteLLM, "allowed_fails", "feeds router_settings"),
	sup(SectionLiteLLM, "cooldown_time", "feeds router_settings"),
	sup(SectionLiteLLM, "model_group_alias", "feeds router_settings"),
	sup(SectionLiteLLM, "json_logs", ""),
	sup(SectionLiteLLM, "disable_add_user_agent_to_request_tags", "no \"User-Agent: …\" tags in the spend logs' request_tags"),
	sup(SectionLiteLLM, "set_verbose", "debug-level logs"),
	sup(SectionLiteLLM, "cache", "true turns on LiteLLM's response cache (D111) for chat and text completions: a repeated request (same model group and LLM params) is answered from the cache without calling the provider, with x-litellm-cache-key and x-litellm-response-cost 0, its spend log cache_hit \"True\" (spend 0, its cache_key) and the callbacks' cache_hit true; streams are stored whole and replayed as a stream; per request the body's cache object (no-cache, no-store, ttl, s-maxage, namespace, use-cache) as LiteLLM reads it; GET /cache/ping, POST /cache/delete and /cache/flushall (master key; on local and redis; flushall removes the cache's own entries only)"),
	sup(SectionLiteLLM, "cache_params", "the response cache's settings (below)"),
	part(SectionLiteLLM, "success_callback", "\"prometheus\" serves /metrics (LiteLLM's metric names); \"generic_api\", \"langfuse\", \"s3\", \"s3_v2\", \"datadog\", \"langsmith\", \"aws_sqs\", \"arize\", \"arize_phoenix\" and \"gcs_bucket\" log each successful request, off the request path; other callbacks warn \"not yet\"", false),
	part(SectionLiteLLM, "failure_callback", "\"prometheus\" serves /metrics (LiteLLM's metric names); \"generic_api\", \"langfuse\", \"s3_v2\", \"datadog\", \"langsmith\", \"aws_sqs\", \"arize\", \"arize_phoenix\" and \"gcs_bucket\" log each failed request (LiteLLM's v1 \"s3\" logs successes only: warned), off the request path; other callbacks warn \"not yet\"", false),
	part(SectionLiteLLM, "callbacks", "\"prometheus\" serves /metrics on the gateway port (LiteLLM's metric names and labels, from the outcome of each try, off the request path); \"generic_api\" (GENERIC_LOGGER_ENDPOINT/_HEADERS, StandardLoggingPayload) and \"langfuse\" (LANGFUSE_* keys, ingestion API) and \"s3\" (s3_callback_params: an object per request) and \"datadog\" (Datadog's logs intake /api/v2/logs, gzipped, as LiteLLM's DataDogLogger: DD_API_KEY and DD_SITE, or LITELLM_DD_AGENT_HOST/_PORT; DD_BASE_URL, DD_SOURCE, DD_SERVICE, DD_ENV, DD_VERSION, HOSTNAME, POD_NAME, DD_BATCH_SIZE; each event's message the StandardLoggingPayload, its ddtags with request tags and the team) and \"langsmith\" (a run per request to LANGSMITH_BASE_URL's /api/v1/runs/batch with LANGSMITH_API_KEY, LANGSMITH_PROJECT, LANGSMITH_TENANT_ID, LANGSMITH_DEFAULT_RUN_NAME, LANGSMITH_BATCH_SIZE, LANGSMITH_SAMPLING_RATE as LiteLLM reads it) and \"aws_sqs\" (aws_sqs_callback_params: a queue message per request) and \"gcs_bucket\" (Cloud Storage JSON API media uploads with a service account's OAuth token, as LiteLLM's GCSBucketLogger: GCS_BUCKET_NAME — a bucket, optionally /folder —, GCS_PATH_SERVICE_ACCOUNT (a JSON key file or the JSON; else GOOGLE_APPLICATION_CREDENTIALS; gcloud's and the metadata server's credentials not yet), GCS_USE_BATCHED_LOGGING (default true: one NDJSON object per batch, YYYY-MM-DD/batch-<ms>-<hex>.ndjson; false: YYYY-MM-DD/<call id>, or failure-<hex>, per request), GCS_BATCH_SIZE (at most 1,000 an object, as LiteLLM's queue), GCS_FLUSH_INTERVAL (20 s); endpoint CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE; not an Enterprise-only feature here; key/team gcs_bucket_name and metadata gcs_log_id not yet) log every request in batches with retry; \"arize\" and \"arize_phoenix\" export an OTLP trace per request with the OpenInference attributes LiteLLM's arize integration sets (span kind, model, provider, token counts, cost, key alias, team, user, the error) — arize to ARIZE_ENDPOINT (gRPC) or ARIZE_HTTP_ENDPOINT (else Arize's otlp.arize.com) with ARIZE_SPACE_KEY/ARIZE_SPACE_ID and ARIZE_API_KEY as the space_id and api_key headers, ARIZE_PROJECT_NAME; arize_phoenix to PHOENIX_COLLECTOR_HTTP_ENDPOINT or PHOENIX_COLLECTOR_ENDPOINT (else localhost:6006) with PHOENIX_API_KEY as a Bearer authorization, PHOENIX_PROJECT_NAME; \"otel\" exports a trace per request with a span per attempt, and the GenAI metrics, over OTLP (OTEL_* variables); other callbacks warn \"not yet\"", false),
	part(SectionLiteLLM, "s3_callback_params", "the s3 callback (\"s3\" or \"s3_v2\" in a callback list): one JSON object per request, its StandardLoggingPayload, at [s3_path/][team alias/ with s3_use_team_prefix][key alias/ with s3_use_key_prefix]YYYY-MM-DD/time-HH-MM-SS-ffffff_<call id>.json (LiteLLM's v1 \"s3\" alone: successes only, the team folder only with enable_preview_features, no key folder), put in batches (DEFAULT_S3_BATCH_SIZE, DEFAULT_S3_FLUSH_INTERVAL_SECONDS) off the request path with retry; s3_bucket_name, s3_region_name, s3_endpoint_url (path style unless s3_use_virtual_hosted_style), s3_aws_access_key_id/_secret_access_key/_session_token, s3_aws_role_name/_session_name (STS AssumeRole), s3_aws_web_identity_token (AssumeRoleWithWebIdentity), s3_aws_sts_endpoint, s3_aws_profile_name (each else its AWS_* variable), s3_path, s3_use_team_prefix, s3_use_key_prefix, s3_verify, s3_server_side_encryption, s3_sse_kms_key_id; not yet: s3_use_ssl: false", false),
	part(SectionLiteLLM, "aws_sqs_callback_params", "the aws_sqs callback (\"aws_sqs\" in a callback list): each request's StandardLoggingPayload as one message of sqs_queue_url, sent with aws-sdk-go-v2's SendMessageBatch (SQS's JSON protocol, SigV4) off the request path in batches with retry; sqs_region_name (else AWS_REGION_NAME, AWS_REGION, the queue URL's region), sqs_endpoint_url (else the queue URL's host), sqs_aws_access_key_id/_secret_access_key/_session_token, sqs_aws_role_name/_session_name, sqs_aws_web_identity_token, sqs_aws_sts_endpoint, sqs_aws_profile_name (each else its AWS_* variable), sqs_verify, sqs_batch_size and sqs_flush_interval (else DEFAULT_SQS_BATCH_SIZE, DEFAULT_SQS_FLUSH_INTERVAL_SECONDS: 512, 10 s), sqs_aws_use_application_level_encryption with sqs_app_encryption_key_b64/_aad (LiteLLM's AES-256-GCM envelope); a .fifo queue gets the group \"litellm\" and the call id as deduplication id; not yet: sqs_config, sqs_use_ssl: false", false),
	sup(SectionLiteLLM, "require_auth_for_metrics_endpoint", "default true, as LiteLLM: the gateway port's /metrics asks for the master key or a virtual key; --metrics-address never does"),
	sup(SectionLiteLLM, "prometheus_latency_buckets", "ascending seconds; LiteLLM's LATENCY_BUCKETS by default"),
	sup(SectionLiteLLM, "custom_prometheus_metadata_labels", "a label per entry (named as LiteLLM sanitises it: \"metadata.foo\" → metadata_foo) on the request metrics, its value the string at that path of the request's spend_logs_metadata (metadata.spend_logs_metadata, else the x-litellm-spend-logs-metadata header; the header of a plain body the module serves is not read), else of the key's metadata, else of the request's (body metadata); at most 16 labels, values cut to 128 bytes, 1,000 values a label (then \"__other__\")"),
	sup(SectionLiteLLM, "custom_prometheus_tags", "a label tag_<tag> per entry (sanitised as LiteLLM) on the request metrics, \"true\" when the request's tags (its own, its key's and team's, the deployment's, the User-Agent ones) hold it, a \"*\" matching any run of characters; at most 16"),
	sup(SectionLiteLLM, "prometheus_metrics_config", "groups of LiteLLM metric names with include_labels: only the metrics listed are served, each with the labels kept (its own, the custom ones, stream), series that differ only in a label left out add up; an unknown metric or label stops the config as in LiteLLM; LiteLLM metrics llmgate does not serve are warned about"),
	sup(SectionLiteLLM, "prometheus_emit_stream_label", "a stream label (\"True\"/\"False\") on litellm_proxy_total_requests_metric"),
	part(SectionLiteLLM, "prometheus_initialize_budget_metrics", "true is how llmgate always serves the budget gauges (litellm_remaining_api_key_budget_metric, litellm_remaining_team_budget_metric, the max budget and remaining hours, and the users'): every key, team and user of the key table at each scrape, without traffic, nothing on the request path; false (LiteLLM's default: only those that made requests) is accepted and changes nothing", false),
	part(SectionLiteLLM, "service_callback", "\"prometheus_system\": LiteLLM's service metrics on /metrics — litellm_redis_*, litellm_postgres_* (every Redis command and PostgreSQL statement the gateway makes: _latency histogram, _total_requests_total, _failed_requests_total by error_class and function_name) and litellm_self_* (each successful LLM call), recorded in process; other names warn \"not yet\"; LiteLLM's other services (auth, router, reset_budget_job, the spend queues' gauges) are not reported", false),
	part(SectionLiteLLM, "service_callbacks", "read as service_callback (the spelling of LiteLLM's settings table)", false),
	part(SectionLiteLLM, "store_audit_logs", "else LITELLM_STORE_AUDIT_LOGS: each management change (/key/generate, /key/update, /key/delete, /key/regenerate, /key/block, /key/unblock, /team/new|update|delete, /team/member_add|member_update|member_delete (LiteLLM_TeamMembership rows keyed by the team), /user/new|update|delete, /model/new|update|delete) leaves a LiteLLM_AuditLog row (id, updated_at, changed_by, changed_by_api_key, action, table_name, object_id, before_value, updated_values) in the embedded store or LiteLLM's PostgreSQL table, written after the answer, off the request path; GET /audit (page, page_size, changed_by, changed_by_api_key, action, table_name, object_id, start_date, end_date, sort_by, sort_order) and GET /audit/{id}, master key only; LiteLLM-Changed-By honoured when the calling key or its team has allow_litellm_changed_by_header. A deliberate difference: the raw key LiteLLM's created/rotated rows carry is left out (its hash, token_id, is kept)", false),
	part(SectionLiteLLM, "audit_log_callbacks", "\"s3_v2\" (or \"s3\"): each audit row as a JSON object at [s3_path/]audit_logs/YYYY-MM-DD/HH-MM-SS_<id>.json, as LiteLLM's S3Logger writes it, in batches off the request path with retry; other names warn \"not yet\"", false),
	sup(SectionLiteLLM, "s3_audit_callback_params", "the s3 audit callback's bucket, region, credentials and s3_path (the keys of s3_callback_params; else s3_callback_params's)"),
	sup(SectionLiteLLM, "turn_off_message_logging", "logging callbacks send \"redacted-by-litellm\" for messages and response (without it they send none: the outcome event carries no prompt)"),
	sup(SectionLiteLLM, "redact_user_api_key_info", "logging callbacks leave out the key's hash, alias, team and user ids"),
	part(SectionLiteLLM, "langfuse_default_tags", "each Langfuse trace's tags are the request's tags then \"name:value\" for the listed request fields LiteLLM puts in its metadata (user_api_key_hash, _alias, _team_id, _user_id, _team_alias, _end_user_id, _user_email, _request_route, user_api_key, model_group; \"None\" when unset), cache_hit, cache_key, proxy_base_url (PROXY_BASE_URL); fields of the request body's own metadata are not tagged", true),
	part(SectionLiteLLM, "modify_params", "else LITELLM_MODIFY_PARAMS (any value): Anthropic requests are mended as LiteLLM mends them — a \"Please continue.\" user message when there is none but system ones (without it LiteLLM's 400), an assistant message's tool calls without results given LiteLLM's \"[System: Tool execution skipped/interrupted by user. …]\" tool results, results of no call removed, a call's repeated results reduced to the last, thinking not sent when the assistant's tool calls carry no thinking_blocks; empty texts become LiteLLM's placeholder with or without it. Bedrock's mending (Converse) not yet", false),
	part(SectionLiteLLM, "enable_preview_features", "the v1 \"s3\" callback's s3_use_team_prefix folder is written only with it, as LiteLLM's S3Logger (s3_v2 always writes it); the request metadata LiteLLM then sends to OpenAI not yet", false),
	sup(SectionLiteLLM, "user_url_validation", "default true: a request's own api_base (allow_client_side_credentials, configurable_clientside_auth_params) must resolve to public addresses only (LiteLLM's SSRF guard: not loopback, private, link-local, shared, reserved or multicast, nor 168.63.129.16 or 192.0.0.0/24); false: any address. Other user URLs (image_url fetches) are not fetched by llmgate (D156)"),
	sup(SectionLiteLLM, "user_url_allowed_hosts", "hosts (\"host\", \"host:port\", \"[::1]\", \"[::1]:port\") whose addresses a request's own api_base may reach even when internal, as LiteLLM's user_url_allowed_hosts (D156)"),
	sup(SectionLiteLLM, "force_ipv4", "the deployments' host names resolve to IPv4 addresses only (Envoy's V4_ONLY; else IPv4 preferred)"),
	sup(SectionLiteLLM, "forward_traceparent_to_llm_provider", "the client's traceparent header reaches the provider"),
	part(SectionLiteLLM, "model_group_settings", "forward_client_headers_to_llm_api (groups, or patterns ending in *, whose requests forward client headers as general_settings.forward_client_headers_to_llm_api does); other settings not yet", false),
	part(SectionLiteLLM, "disable_end_user_cost_tracking", "the Prometheus metrics' end_user label is left empty; spend logs, customer spend and logging payloads still carry the end user (not yet)", true),
	sup(SectionLiteLLM, "disable_end_user_cost_tracking_prometheus_only", "the Prometheus metrics' end_user label is left empty (spend and logs keep the end user)"),
	part(SectionLiteLLM, "key_generation_settings", "for /key/generate by the master key (LiteLLM's proxy admin; llmgate lets no other caller generate keys): personal_key_generation's allowed_user_roles (the admin's role is proxy_admin) and required_params, and a team key's team must exist (LiteLLM's 400 messages); team_key_generation's allowed_team_member_roles and required_params apply to non-admin callers only, which llmgate does not have yet", false),
	sup(SectionLiteLLM, "disable_add_transform_inline_image_block", "accepted, no effect, as in LiteLLM 1.109: carried into litellm_params, read by no provider transformation"),
	notYet(SectionLiteLLM, "disable_hf_tokenizer_download", ""),
	notYet(SectionLiteLLM, "callback_settings", ""),
	part(SectionLiteLLM, "max_budget", "the proxy-wide budget (USD; 0: none), as LiteLLM: a litellm-proxy-budget row in the user table (both stores) counts the cost of every request with a virtual key or a customer (master-key requests without a customer are not costed, a difference), and a virtual key is refused past it with LiteLLM's 400 budget_exceeded; checked in the module and in ext_proc", true),
	sup(SectionLiteLLM, "budget_duration", "the proxy-wide budget's period (\"30d\"): the litellm-proxy-budget row restarts like a user's budget"),
	sup(SectionLiteLLM, "max_internal_user_budget", "/user/new with user_role internal_user and no max_budget gets it (USD)"),
	sup(SectionLiteLLM, "internal_user_budget_duration", "/user/new with user_role internal_user and no budget_duration gets it (\"30d\")"),
	sup(SectionLiteLLM, "max_end_user_budget", "the budget (USD) of a customer (the request's `user`) that has none of its own (/customer/*); checked in memory like key budgets"),
	sup(SectionLiteLLM, "max_end_user_budget_id", "a /budget/new budget_id used as the budget of customers without one of their own; wins over max_end_user_budget"),
	part(SectionLiteLLM, "default_team_settings", "team-based logging to the team's own Langfuse project (team_id, success_callback/failure_callback [langfuse], langfuse_public_key, langfuse_secret, langfuse_host); generic_api in a team's lists logs its requests to GENERIC_LOGGER_ENDPOINT, s3 to the s3_callback_params bucket, otel traces them; other team callbacks warn \"not yet\"", false),
	sup(SectionLiteLLM, "default_key_generate_params", "/key/generate fills in max_budget, user_id, team_id, max_parallel_requests, tpm_limit, rpm_limit, budget_duration, duration when the body leaves them out (or null), models and metadata when empty"),
	sup(SectionLiteLLM, "upperbound_key_generate_params", "max_budget, max_parallel_requests, tpm_limit, rpm_limit, budget_duration, duration (\"30d\"): /key/generate, /key/update and /key/regenerate refuse a value above the bound with LiteLLM's 400 (\"{'error': '<field> is over max limit set in config - user_value=…; max_value=…'}\"); /key/generate sets the fields it is not given to the bound"),
	sup(SectionLiteLLM, "default_internal_user_params", "/user/new (unless user_role is proxy_admin) fills in the fields the body leaves out (models also when empty: user_role, models, max_budget, budget_duration, tpm_limit, rpm_limit, metadata, …), and its teams (team ids, or {team_id, max_budget_in_team, user_role}) are joined as members; the user's auto-created key takes the filled-in fields, as LiteLLM's"),
	part(SectionLiteLLM, "enable_json_schema_validation", "a non-streamed chat answer to a request whose response_format has json_schema is checked against its schema (draft 2020-12): content that is not JSON or does not match is LiteLLM's 500 \"litellm.APIResponseValidationError: litellm.JSONSchemaValidationError: model=, returned an invalid response=…, for schema=…\", a failure of the deployment (retried, fallen back from, counted); the request's own enable_json_schema_validation wins over the setting and never reaches a provider; the module hands every request of such a config to ext_proc", false),
	part(SectionLiteLLM, "return_response_headers", "true: every provider response header also reaches the client as llm_provider-<name> (LiteLLM's process_response_headers), for each answer a provider sent, streamed or not, success or error; not copied: Envoy's hop-by-hop headers, x-envoy-*, x-litellm-* and internal x-llmgate-* ones. A difference: LiteLLM's proxy returns these copies on chat completions whatever the key says (its async OpenAI client always reads the raw response); llmgate only with true, so that no answer pays for them otherwise", false),
	sup(SectionLiteLLM, "ssl_verify", "false: the deployments' https certificates are not verified; a path: the CA bundle they are verified against (else SSL_CERT_FILE, else the system bundle); SSL_VERIFY wins over the key, as in LiteLLM. Applies to Envoy's connections to the deployments; the files are read by Envoy"),
	sup(SectionLiteLLM, "ssl_certificate", "a PEM file with the client certificate chain and its private key, presented to the deployments' https hosts (mTLS); SSL_CERTIFICATE wins over the key"),
	sup(SectionLiteLLM, "ssl_ecdh_curve", "the key-exchange curve offered to the deployments (X25519, prime256v1, secp384r1, secp521r1, X25519MLKEM768; e.g. X25519 turns post-quantum key exchange off); SSL_ECDH_CURVE wins over the key"),
	part(SectionLiteLLM, "ssl_security_level", "the OpenSSL cipher string LiteLLM passes to set_ciphers: the cipher names BoringSSL knows are offered for TLS 1.2 in their order, DEFAULT/ALL/HIGH stand for Envoy's default list; @SECLEVEL=n and the cipher operators have no BoringSSL counterpart and are ignored with a warning; SSL_SECURITY_LEVEL wins over the key", false),
	sup(SectionLiteLLM, "telemetry", "LiteLLM's switch for its own anonymous usage telemetry (the models used and errors hit, sent to LiteLLM's makers); llmgate sends no telemetry, so the boolean is read and changes nothing"),
	part(SectionLiteLLM, "guardrails", "LiteLLM's v1 form, a list of {name: {callbacks, default_on, enabled_roles, callback_args, logging_only}}: as LiteLLM, the callbacks of the default_on entries start once each (callback_args merged by callback name) and run on every request, not named in x-litellm-applied-guardrails; an entry that is not default_on starts nothing (warned). presidio (callback_args: a presidio guardrail's litellm_params; pre_call, output_parse_pii) and lakera_prompt_injection (Lakera Guard v1's /v1/prompt_injection, as the top-level kind lakera: api_key, api_base, category_thresholds, moderation_check pre_call or in_parallel; the prompt_injection entry's enabled_roles; when a request's metadata.guardrails is a mapping it runs only if an entry the mapping enables names it). Other callbacks and logging_only warn and do not run", true),
	part(SectionLiteLLM, "redact_messages_in_exceptions", "true (or turn_off_message_logging): the llm_too_slow alert's Messages line reads LiteLLM's \"Message not logged. litellm.redact_messages_in_exceptions=True\"; false: llmgate's alerts and errors never quote the request's messages (LiteLLM's slow alert shows their first 100 characters)", false),

	// litellm_settings.cache_params.
	part(SectionCache, "type", "local (in memory, per instance: LiteLLM's 200 entries of at most 1 MB), redis (shared by every instance on it, keys under llmgate:cache:), s3, disk, gcs and qdrant-semantic (below); redis-semantic (it needs RediSearch with vector fields, which neither Debian nor PyPI provides) and azure-blob are accepted with a warning and cache nothing", false),
	sup(SectionCache, "host", "the cache's Redis; else REDIS_HOST, else router_settings' Redis (redis_host or redis_url), else REDIS_URL"),
	sup(SectionCache, "port", "default 6379 (else REDIS_PORT)"),
	sup(SectionCache, "password", "else REDIS_PASSWORD"),
	sup(SectionCache, "namespace", "prefixes every cache key (\"namespace:key\"); a request's cache.namespace (or metadata.redis_namespace) wins"),
	sup(SectionCache, "ttl", "seconds an entry lives, unless the request's cache.ttl says otherwise; unset: 600 s for local, no expiry for redis (LiteLLM's defaults)"),
	sup(SectionCache, "mode", "default_on (every request of a supported call type) or default_off (only requests with \"cache\": {\"use-cache\": true})"),
	part(SectionCache, "supported_call_types", "completion/acompletion (chat), text_completion/atext_completion and embedding/aembedding are cached (embeddings as LiteLLM: each input of a list under its own key; a list whose every input is cached is a hit, its usage 0 tokens; one not cached calls the provider for the whole list, where LiteLLM asks only for the missing inputs; lists above 256 inputs are not cached); transcription and rerank calls are never cached", true),
	sup(SectionCache, "redis_startup_nodes", "a Redis Cluster for the cache: [{host, port}, ...] (else REDIS_CLUSTER_NODES as JSON); wins over host and sentinel_nodes, as in LiteLLM; password is the nodes' password"),
	sup(SectionCache, "sentinel_nodes", "a Redis behind Sentinel for the cache: [[host, port], ...] (else REDIS_SENTINEL_NODES as JSON), with service_name; the cache follows the master across failovers"),
	sup(SectionCache, "service_name", "the Sentinel master's name (else REDIS_SERVICE_NAME); needed with sentinel_nodes"),
	sup(SectionCache, "sentinel_password", "the sentinels' password (else REDIS_SENTINEL_PASSWORD); also the master's when password is unset, as in LiteLLM"),
	sup(SectionCache, "s3_bucket_name", "type s3 (D138): each entry one JSON object ({timestamp, response}) at [s3_path/]<cache key> in this bucket, written off the request path, read with one GetObject (SigV4 by aws-sdk-go-v2); required"),
	sup(SectionCache, "s3_region_name", "else AWS_REGION_NAME, AWS_REGION, AWS_DEFAULT_REGION, us-west-2"),
	sup(SectionCache, "s3_aws_access_key_id", "else AWS_ACCESS_KEY_ID (with AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); neither: the SDK's default chain"),
	sup(SectionCache, "s3_aws_secret_access_key", "else AWS_SECRET_ACCESS_KEY"),
	sup(SectionCache, "s3_aws_session_token", "else AWS_SESSION_TOKEN"),
	sup(SectionCache, "s3_endpoint_url", "an S3-compatible store (MinIO, R2, Backblaze), addressed path-style; unset: AWS's endpoint of the region"),
	sup(SectionCache, "s3_path", "the entries' key prefix (\"path/\")"),
	sup(SectionCache, "s3_verify", "false skips the TLS check of the S3 endpoint"),
	sup(SectionCache, "s3_use_ssl", "false: AWS's endpoint over http (an s3_endpoint_url is taken as written, as boto3 does)"),
	sup(SectionCache, "s3_api_version", "read; S3 has one API version"),
	notYet(SectionCache, "s3_config", "s3 cache: boto3's client config"),
	sup(SectionCache, "default_in_memory_ttl", "seconds; replaces ttl for type local (LiteLLM's Cache)"),
	sup(SectionCache, "default_in_redis_ttl", "seconds; replaces ttl for type redis (LiteLLM's Cache)"),
	sup(SectionCache, "redis_flush_size", "read, no effect: LiteLLM's batch size for buffered Redis writes; here each write goes on its own, off the request path"),
	notYet(SectionCache, "redis_semantic_cache_index_name", "redis-semantic cache"),
	notYet(SectionCache, "azure_account_url", "azure-blob cache"),
	notYet(SectionCache, "azure_blob_container", "azure-blob cache"),
	sup(SectionCache, "gcs_bucket_name", "type gcs: the bucket of the entries, one JSON object each ({timestamp, response}) at [gcs_path/]<cache key>, read with one Cloud Storage JSON API GET (alt=media) and written off the request path with a media upload; else GCS_BUCKET_NAME; required"),
	sup(SectionCache, "gcs_path_service_account", "type gcs: a service account's JSON key file (or the JSON), its OAuth token cached and refreshed off the request path; else GCS_PATH_SERVICE_ACCOUNT, else GOOGLE_APPLICATION_CREDENTIALS; required (gcloud's and the metadata server's credentials not yet); the endpoint moves with CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE"),
	sup(SectionCache, "gcs_path", "type gcs: the folder the entries go under (its trailing / trimmed, as LiteLLM's)"),
	sup(SectionCache, "disk_cache_dir", "type disk (D138): the directory of the entries, one file each (default .litellm_cache, made if missing); kept across restarts, at most 1 GiB (diskcache's size_limit: the oldest files go first)"),
	sup(SectionCache, "qdrant_semantic_cache_embedding_model", "type qdrant-semantic (D138): the model_list group that embeds a chat request's prompt (its messages' contents joined, as LiteLLM's) for the lookup and the store; default text-embedding-ada-002"),
	sup(SectionCache, "qdrant_collection_name", "required; made on first use when missing (cosine distance, qdrant_semantic_cache_vector_size dimensions, the quantization below)"),
	sup(SectionCache, "qdrant_quantization_config", "binary (default), scalar (int8, quantile 0.99) or product (x16): the collection's quantization when it is made"),
	sup(SectionCache, "qdrant_api_base", "Qdrant's URL; else QDRANT_URL, else QDRANT_API_BASE"),
	sup(SectionCache, "qdrant_api_key", "sent as api-key; else QDRANT_API_KEY"),
	sup(SectionCache, "qdrant_semantic_cache_vector_size", "the collection's vector size when it is made (default 1536)"),
	notYet(SectionCache, "redis_semantic_cache_embedding_model", "redis-semantic cache"),
	sup(SectionCache, "similarity_threshold", "required for qdrant-semantic: the nearest stored prompt answers when its cosine similarity is at least this (x-litellm-semantic-similarity on every looked-up answer)"),

	// general_settings.
	sup(SectionGeneral, "master_key", "with none set, every route is open; an empty value is an error; with one set, virtual keys (/key/*) work: stored in an embedded file under --data-dir, or in database_url"),
	sup(SectionGeneral, "llmgate_allow_no_master_key", "llmgate only: a hot reload that removes master_key is refused unless the new file sets this to true"),
	sup(SectionGeneral, "max_request_size_mb", ""),
	sup(SectionGeneral, "max_file_size_mb", "a /v1/files upload over this many MB (MiB) is refused before the provider with LiteLLM's 413 (\"Uploaded file exceeds the configured max_file_size_mb …\", param file); max_request_size_mb bounds the whole body first"),
	sup(SectionGeneral, "max_batch_file_size_mb", "a purpose=batch upload over this many MB (MiB) is refused with LiteLLM's 413, param file"),
	sup(SectionGeneral, "dangerously_allow_mock_testing_request_params", "honours the request fields mock_testing_fallbacks, mock_testing_context_fallbacks, mock_testing_content_policy_fallbacks, mock_testing_rate_limit_error, mock_timeout; without it they are a 400"),
	sup(SectionGeneral, "litellm_key_header_name", ""),
	sup(SectionGeneral, "max_parallel_requests", "per-deployment default; router_settings.default_max_parallel_requests wins"),
	part(SectionGeneral, "global_max_parallel_requests", "sizes Envoy's circuit breakers, the gateway's in-flight ceiling (default 100,000); past it a cluster refuses with OpenAI-format 503 (LiteLLM: 429), per cluster rather than exactly", true),
	sup(SectionGeneral, "model_group_alias", "merged under router_settings.model_group_alias"),
	sup(SectionGeneral, "background_health_checks", "every deployment is checked through Envoy every health_check_interval, off the request path; /health answers from the latest run; a failed check counts toward the deployment's cooldown and sets litellm_deployment_state"),
	sup(SectionGeneral, "health_check_interval", "seconds between background runs (default 300)"),
	sup(SectionGeneral, "health_check_details", "false: /health (on demand and background_health_checks) lists each healthy and unhealthy endpoint by its model only, as LiteLLM's MINIMAL_DISPLAY_PARAMS (no model group, id, api_base or error); the counts stay"),
	part(SectionGeneral, "database_url", "PostgreSQL: virtual keys, teams, users and spend in LiteLLM's own tables (LiteLLM_VerificationToken, LiteLLM_TeamTable, LiteLLM_UserTable, LiteLLM_SpendLogs), so an existing LiteLLM database keeps working; every request has a LiteLLM_SpendLogs row, a master-key request too (api_key litellm_proxy_master_key, user default_user_id, as LiteLLM); without it an embedded file under --data-dir (where the master key's requests are not logged). Read at start only (a reload that changes it needs a restart)", true),
	part(SectionGeneral, "max_response_size_mb", "accepted; no answer is refused. LiteLLM's check (check_response_size_is_safe) is Enterprise-only (without a licence a warning) and measures sys.getsizeof of the response object — its shallow size, under a kilobyte, not the answer's bytes — so with a limit of 1 MB or more it never refuses; only a limit near 0 would make it refuse every non-streamed answer (400 bad_request_error, param content-length), which llmgate does not imitate", true),
	sup(SectionGeneral, "completion_model", "every /chat/completions, /completions and /v1/messages request is served by this model (group or alias), whatever the body or an Azure-style path names, as LiteLLM's proxy does; such configs are served by the ext_proc filter"),
	sup(SectionGeneral, "embedding_model", "every /embeddings request is served by this model (group or alias), whatever the body or an Azure-style path names, as LiteLLM's proxy does; such configs are served by the ext_proc filter"),
	sup(SectionGeneral, "image_generation_model", "every /images/generations request is served by this model (group or alias) unless an Azure-style path names one, whatever the body names, as LiteLLM's proxy does (D130)"),
	sup(SectionGeneral, "moderation_model", "every /moderations request is served by this model (group or alias), whatever the body names or when it names none, as LiteLLM's proxy does (D130)"),
	notYet(SectionGeneral, "infer_model_from_keys", ""),
	sup(SectionGeneral, "enable_jwt_auth", "a key of three dot-separated parts is verified as a JWT (RS*, PS*, ES*, EdDSA; never HS*) against the keys of JWT_PUBLIC_KEY_URL (a comma-separated list of JWKS URLs, required), fetched at load, every public_key_ttl and, for an unknown kid, at most every 10 s, always off the request path; JWT_AUDIENCE checks aud when set; refusals are LiteLLM's 401/403 auth_error JSON (\"Authentication Error, Token Expired\", …); verified by the ext_proc filter (the module hands a JWT request on). LiteLLM honours it only with an Enterprise licence"),
	part(SectionGeneral, "litellm_jwtauth", "admin_jwt_scope (an admin: the master key's rights on admin_allowed_routes), admin_allowed_routes, team_id_jwt_field, team_id_default, team_allowed_routes, user_id_jwt_field, user_email_jwt_field, end_user_id_jwt_field, user_id_upsert, public_key_ttl (claims by LiteLLM's dot notation); a team's models, blocked flag and budgets, the user's and member's budgets and the end user's checks apply, the spend counts to them, and their rpm/tpm limits and the team's and user's max_parallel_requests apply; user_id_upsert creates an unknown user's row (default_internal_user_params applied); team_ids_jwt_field, role_mappings, org_id_jwt_field and the other mapping fields warn \"not yet\"; enforce_rbac, scope_mappings, enforce_team_based_model_access, user_allowed_email_domain, user_allowed_roles, custom_validate and the OIDC userinfo fields are refused (not served more openly than LiteLLM); an unknown field is an error, as in LiteLLM", true),
	sup(SectionGeneral, "allowed_routes", "the only routes served (exact, or a LiteLLM route group such as LiteLLMRoutes.openai_routes), for every caller including the master key, as LiteLLM's pre_db_read_auth_checks; another gets 403 \"Access forbidden: Route … not allowed\"; /health/liveliness and /health/readiness are not checked (no auth in LiteLLM either); in the module and in ext_proc. LiteLLM honours it only with an Enterprise licence"),
	sup(SectionGeneral, "admin_only_routes", "routes (exact, or a LiteLLM route group) only the master key or an admin JWT may call: a virtual key or a non-admin JWT gets LiteLLM's 403 \"user not allowed to access this route. Route=… is an admin only route\"; in the module and in ext_proc. LiteLLM honours it only with an Enterprise licence"),
	sup(SectionGeneral, "allowed_ips", "only these client addresses (exact strings, as LiteLLM compares them) reach any authenticated route; others get LiteLLM's 403 \"Access forbidden: IP address … not allowed.\"; the address is the peer's (Envoy's, never a client's X-Forwarded-For) unless use_x_forwarded_for; an empty list allows no one; checked in the module and in ext_proc"),
	sup(SectionGeneral, "enforce_user_param", "a virtual key's LLM request without `user` gets LiteLLM's 401 \"Authentication Error, 'user' param not passed in. 'enforce_user_param'=True\" (after the key's own checks, before its limits count the request; the master key is spared, as LiteLLM's); checked in the module and in ext_proc"),
	part(SectionGeneral, "enable_oauth2_auth", "a bearer token that is neither the master key, a virtual key nor a JWT is checked on the LLM and info routes at OAUTH_TOKEN_INFO_ENDPOINT (required): a GET with the token as bearer, or with OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET and \"introspect\" in the URL an RFC 7662 POST with Basic client credentials (active false refused); OAUTH_USER_ID_FIELD_NAME, OAUTH_USER_ROLE_FIELD_NAME (proxy_admin: an admin), OAUTH_USER_TEAM_ID_FIELD_NAME name the caller, whose team and user get its spend with no further check, as LiteLLM; refusals are LiteLLM's 401 \"Authentication Error, Oauth 2.0 Token validation failed: …\". Differs: LiteLLM asks the endpoint on every request and about the master key and virtual keys too; llmgate accepts those keys itself and remembers an answer per token (until its exp, at most 60 s; a refusal 5 s), so a revoked token is refused up to 60 s late. Checked by the ext_proc filter (the module hands such a request on). LiteLLM honours it only with an Enterprise licence", true),
	sup(SectionGeneral, "enable_oauth2_proxy_auth", "as LiteLLM's handle_oauth2_proxy_request: every request's caller is read from the headers an OAuth2 proxy in front sets (oauth2_config_mappings, required), before any key and with no check of its own — only safe when nothing but that proxy reaches the gateway; user_role proxy_admin is an admin (management routes), another caller's team_id and user_id get its spend; admin_only_routes still refuse a non-admin; in module mode a non-admin request takes the ext_proc path"),
	sup(SectionGeneral, "use_x_forwarded_for", "allowed_ips compares the X-Forwarded-For header as the client sent it (whole, as LiteLLM), else the peer's address"),
	notYet(SectionGeneral, "custom_auth", "a Python function LiteLLM imports (module.function) to authenticate each request; llmgate cannot run Python — enable_jwt_auth, enable_oauth2_auth (a token-info or introspection endpoint of yours), enable_oauth2_proxy_auth and virtual keys cover what such hooks usually do"),
	notYet(SectionGeneral, "allow_user_auth", "only gates LiteLLM's /user/auth route, which LiteLLM 1.108 no longer serves (the check is left in its auth code); llmgate serves no such route either"),
	notYet(SectionGeneral, "custom_sso", ""),
	sup(SectionGeneral, "database_connection_pool_limit", "the PostgreSQL pool's size per instance (LiteLLM's default 10 when unset; 1 to 10,000)"),
	part(SectionGeneral, "database_connection_timeout", "seconds to open one PostgreSQL connection (LiteLLM's default 60 when unset); LiteLLM's Prisma also bounds the wait for a free pooled connection, llmgate waits for one as long as its caller allows", false),
	part(SectionGeneral, "allow_requests_on_db_unavailable", "keys are checked from memory, never on a database read: known keys are served while the database is down whether or not this is set; a key not in the table is refused (LiteLLM with it set lets a key it cannot look up through as the proxy admin)", true),
	sup(SectionGeneral, "disable_spend_logs", "no LiteLLM_SpendLogs rows; spend totals still count"),
	sup(SectionGeneral, "disable_master_key_return", "/user/info lists no key row holding the master key's hash (a LiteLLM database has one; llmgate never writes it)"),
	sup(SectionGeneral, "disable_retry_on_max_parallel_request_limit_error", "accepted: a request over a max_parallel_requests limit is refused at once with LiteLLM's 429 and never queued or retried, which is what the setting asks for (LiteLLM 1.108's giveup hook that reads it is called nowhere)"),
	sup(SectionGeneral, "disable_reset_budget", "no budget period restarts: keys', teams', users', members' and customers' spend is never set back to 0 at budget_reset_at (LiteLLM's reset job is not scheduled); per-model budget windows (model_max_budget) still roll"),
	sup(SectionGeneral, "disable_adding_master_key_hash_to_db", "accepted: LiteLLM 1.108 reads it nowhere and writes its alias litellm_proxy_master_key where a master-key caller's api_key goes (the audit log's changed_by_api_key); llmgate writes the same alias and never the master key or its hash, in the audit log and (with database_url) as every master-key request's spend-log api_key"),
	sup(SectionGeneral, "store_model_in_db", "/model/new, /model/update, /model/delete keep deployments in the key store (LiteLLM_ProxyModelTable; litellm_params values encrypted as LiteLLM does, under LITELLM_SALT_KEY else the master key); they join model_list at every load and a change is pushed to Envoy like a reload; also STORE_MODEL_IN_DB=True in the environment"),
	part(SectionGeneral, "store_prompts_in_spend_logs", "LiteLLM_SpendLogs' proxy_server_request (the request body) and response (the answer), long strings cut as LiteLLM cuts them; a streamed chat completion's response is the assembled answer (LiteLLM's complete_streaming_response: content and tool calls joined, finish_reason, usage); other streams (text completions, /v1/messages) store {}. The module hands such configs' requests to ext_proc (D117)", true),
	notYet(SectionGeneral, "disable_prisma_schema_update", ""),
	sup(SectionGeneral, "proxy_batch_write_at", "seconds between spend batch writes, default 10; spend is in a local write-ahead file before that"),
	sup(SectionGeneral, "proxy_budget_rescheduler_min_time", "seconds (1 to 86400): budget periods are checked for a reset every min + a random 0 to min(30, max − min) seconds, as LiteLLM's budget reset job; one set alone takes LiteLLM's default for the other (597 / 605); unset, llmgate checks after every spend batch (proxy_batch_write_at), so resets are not up to 10 minutes late as in LiteLLM"),
	sup(SectionGeneral, "proxy_budget_rescheduler_max_time", "see proxy_budget_rescheduler_min_time; below the min is an error"),
	part(SectionGeneral, "key_management_system", "aws_secret_manager (GetSecretValue with SigV4 by aws-sdk-go-v2; region from key_management_settings.aws_region_name or AWS_REGION_NAME / AWS_REGION / AWS_DEFAULT_REGION; endpoint from AWS_BEDROCK_RUNTIME_ENDPOINT as LiteLLM, or AWS_ENDPOINT_URL_SECRETS_MANAGER) and hashicorp_vault (KV v2 field \"key\" at HCP_VAULT_ADDR/v1/[HCP_VAULT_NAMESPACE/]HCP_VAULT_MOUNT_NAME/data/[HCP_VAULT_PATH_PREFIX/]<name>; HCP_VAULT_TOKEN or an AppRole login): every os.environ/ reference, LITELLM_MASTER_KEY and DATABASE_URL are read from it when the config loads or reloads, never on the request path; a name it does not hold is read from the environment. Differs: a manager that fails (unreachable, refused, 5xx) is a load error naming the key — on a reload the previous config keeps serving — where LiteLLM falls back to the environment or None. azure_key_vault (GET AZURE_KEY_VAULT_URI/secrets/<name>?api-version=7.4 with an Entra ID token for the vault: AZURE_TENANT_ID and AZURE_CLIENT_ID with AZURE_CLIENT_SECRET, or workload identity's AZURE_FEDERATED_TOKEN_FILE; authority AZURE_AUTHORITY_HOST; a name a vault cannot hold — anything but letters, digits and dashes, such as OPENAI_API_KEY — is read from the environment without asking; managed identity and the Azure CLI credential not yet). aws_kms and google_kms decrypt instead of read: an os.environ/ reference's value is base64 ciphertext (LiteLLM's aws_kms/ prefix dropped), decrypted by AWS KMS Decrypt (region and credentials as aws_secret_manager; endpoint AWS_ENDPOINT_URL_KMS) or Google Cloud KMS decrypt on GOOGLE_KMS_RESOURCE_NAME with the service account of GOOGLE_APPLICATION_CREDENTIALS (endpoint CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS); a value that is not base64 or not a ciphertext of the key is used as it is, as LiteLLM falls back to os.environ. google_secret_manager (GET …/v1/projects/GOOGLE_SECRET_MANAGER_PROJECT_ID/secrets/<name>/versions/latest:access with the service account of GCS_PATH_SERVICE_ACCOUNT, else GOOGLE_APPLICATION_CREDENTIALS; endpoint CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER). Not yet: cyberark, Vault TLS certificate login, LiteLLM's USE_AWS_KMS start-up decryption of LITELLM_SECRET_AWS_KMS_* variables; custom (a Python class) is not possible", true),
	part(SectionGeneral, "key_management_settings", "hosted_keys (only these names are read from the manager), access_mode (write_only: nothing is read), primary_secret_name (AWS: every name is a field of that one JSON secret), aws_region_name, aws_role_name, aws_session_name, aws_external_id, aws_profile_name, aws_web_identity_token, aws_sts_endpoint; resolved against the environment only, as LiteLLM. Not yet: store_virtual_keys (generated keys are not written to the manager; prefix_for_stored_virtual_keys, description, tags, kms_key_id and replica_regions shape those writes and are accepted without effect); custom_secret_manager is a Python class and refused", false),
	sup(SectionGeneral, "use_azure_key_vault", "true: secrets are read from Azure Key Vault, as key_management_system: azure_key_vault (AZURE_KEY_VAULT_URI; Entra ID client secret or workload identity from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE)"),
	sup(SectionGeneral, "use_google_kms", "true: secrets are decrypted with Google Cloud KMS, as key_management_system: google_kms (GOOGLE_KMS_RESOURCE_NAME, GOOGLE_APPLICATION_CREDENTIALS)"),
	sup(SectionGeneral, "default_team_disabled", "GET /sso/get/ui_settings (any valid key) answers DEFAULT_TEAM_DISABLED from it or PROXY_DEFAULT_TEAM_DISABLED=true, which is the one place LiteLLM reads it (its Admin UI then hides the Default Team; the key routes do not enforce it there either); NUM_SPEND_LOGS_ROWS is 0 and SSO_ENABLED false"),
	notYet(SectionGeneral, "custom_key_generate", ""),
	part(SectionGeneral, "alerting", "\"slack\" (SLACK_WEBHOOK_URL; Slack-compatible Discord and Teams webhooks too) posts alerts from the outcome of each try, off the request path; other methods warn \"not yet\"", false),
	part(SectionGeneral, "alerting_threshold", "seconds (default 300): a slower response raises llm_too_slow; hanging requests are not alerted yet", false),
	part(SectionGeneral, "alerting_args", "outage_alert_ttl, minor/major_outage_alert_threshold, max_outage_alert_list_size, log_to_console, daily_report_frequency (seconds, default 43200: the daily_reports period); the other report and budget arguments warn \"not yet\"", false),
	part(SectionGeneral, "alert_types", "llm_exceptions, llm_too_slow, llm_requests_hanging, cooldown_deployment, outage_alerts, budget_alerts (soft budget crossings), daily_reports (every daily_report_frequency: the top 5 deployments by failed requests and by latency per output token since the last report, LiteLLM's message), spend_reports (with virtual keys' spend logs: spend per team alias and per request tag over the last spend_report_frequency days, 10 s after start and then every period, and over the month on each 1st at 00:00 UTC; LiteLLM's messages; also on /health/services?service=slack) are raised; LiteLLM's other types are accepted with a \"not yet\" warning; an unknown type is an error", false),
	sup(SectionGeneral, "alert_to_webhook_url", "one webhook URL or a list per alert type (os.environ/ references resolved); a type without one goes to SLACK_WEBHOOK_URL"),
	sup(SectionGeneral, "spend_report_frequency", "\"Nd\" (default \"7d\"): the period of the spend_reports alert; dates are UTC"),
	sup(SectionGeneral, "forward_openai_org_id", "the client's OpenAI-Organization header reaches the provider; off by default"),
	sup(SectionGeneral, "forward_client_headers_to_llm_api", "the client's x-* headers (not x-stainless-*, keys, x-envoy-*, x-forwarded-*) and anthropic-beta reach the provider; off by default: no client header does"),
	sup(SectionGeneral, "use_client_credentials_pass_through_routes", "accepted without effect: LiteLLM 1.109.1 reads it nowhere"),
	part(SectionGeneral, "allow_client_side_credentials", "true: a request body may carry LiteLLM's banned params (api_base, base_url, aws_*, vertex_credentials, azure_ad_token, observability hosts and keys, custom prices, …; also in extra_body, litellm_embedding_config, metadata, litellm_metadata and litellm_params.metadata); without it (or the model group's configurable_clientside_auth_params) such a body gets LiteLLM's 401 \"Authentication Error, Rejected Request: <param> is not allowed in request body. …\"; model_list, and an os.environ/ or oidc/ reference in a credential param, are always refused. A request's own api_key (always accepted, as LiteLLM) and api_base/base_url serve that request only: its tries go to that base (http or https, resolved once by the gateway and reached by address through an original-destination cluster, the certificate checked against the base's name; internal addresses refused unless litellm_settings.user_url_validation is false or the host is in user_url_allowed_hosts) with that key and none of the deployment's credentials or extra_headers (no key at all when the request sends none); an api_key alone goes to the deployment's own base. Such a request skips the response cache, its key is never logged or stored, and its tries neither count to nor cool down the config's deployment. Not yet: banned params inside fallbacks entries and multipart metadata[…] fields; the pass-through, files, batches, search and vector store routes (not checked); bedrock and vertex_ai deployments (a 400); the degraded mode without priority_group (the deployment's own credentials are used) (D156)", false),
	sup(SectionGeneral, "service_account_settings", "enforced_params: fields every request of a service account key (one whose metadata has service_account_id, as /key/service-account/generate makes) must carry, after general_settings' enforced_params and before the key's own; LiteLLM's error words and status (500); other fields are warned about"),
	notYet(SectionGeneral, "provider_budget_config", ""),
	notYet(SectionGeneral, "retry_after", ""),
	notYet(SectionGeneral, "num_retries", "use router_settings.num_retries"),
	part(SectionGeneral, "public_routes", "routes served without a key, as LiteLLM's route_in_additonal_public_routes matches them (the path exactly, or its start when the entry ends in \"*\"; allowed_ips still applies): an LLM or read route named there is served as with no master_key (no key, team, budget or limit checks; not costed to a key), in the module and in ext_proc; the key-management routes still need the master key (LiteLLM's public caller is a view-only user). LiteLLM honours it only with an Enterprise licence", false),
	sup(SectionGeneral, "enforced_params", "fields every LLM request must carry (\"user\", or two levels: \"metadata.generation_name\"), with a key's metadata.enforced_params added; a missing one is LiteLLM's 500 \"BadRequest please pass param=… in request body. This is a required param\" (its ValueError); `metadata` itself always counts as present (LiteLLM adds it first); also for the master key; checked in the module and in ext_proc"),
	sup(SectionGeneral, "user_api_key_cache_ttl", "seconds, default 60: how often the in-memory key cache reloads from the store (with Redis, changes reach other instances at once over pub/sub)"),
	notYet(SectionGeneral, "ui_access_mode", ""),
	notYet(SectionGeneral, "litellm_license", ""),
	part(SectionGeneral, "oauth2_config_mappings", "field → header for enable_oauth2_proxy_auth: user_id, team_id, user_role, end_user_id are read; LiteLLM's other UserAPIKeyAuth fields (models, max_budget, user_email, …) warn \"not used\" — LiteLLM puts them on the caller without enforcing them", false),
	part(SectionGeneral, "pass_through_endpoints", "path, target (its path; a subpath appended with include_subpath), headers (os.environ/ inside a value resolved), forward_headers, methods, timeout (default 600 s), id: plain Envoy routes, no gateway filter on them; auth: true: the caller is checked first (the request filter, once, headers and body unchanged), as on the LLM routes: a virtual key's blocked flag, expiry, budgets (key, team, user, member), model list when the body names a model, rpm/tpm/parallel limits; on the provider routes (/anthropic, /cohere, /mistral, /gemini) the answer's usage is read off the request path and counted as the key's spend (call_type pass_through_endpoint, the built-in list price). Without forward_headers the client's credential headers (authorization, x-api-key, api-key, x-goog-api-key, x-litellm-api-key, ocp-apim-subscription-key, litellm_key_header_name, cookie) are removed, its other headers still go on. Not yet: cost_per_request, guardrails, the target's own query parameters, x-pass-* headers, the callbacks of pass-through requests, spend of configured entries and of the master key", false),

	// router_settings.
	sup(SectionRouter, "routing_strategy", "simple-shuffle (default), least-busy, usage-based-routing(-v2), latency-based-routing, cost-based-routing"),
	sup(SectionRouter, "routing_strategy_args", ""),
	sup(SectionRouter, "num_retries", "default 2"),
	sup(SectionRouter, "timeout", "seconds, default 600"),
	sup(SectionRouter, "stream_timeout", "seconds, default: timeout"),
	sup(SectionRouter, "allowed_fails", "default 3 per deployment per minute"),
	sup(SectionRouter, "cooldown_time", "seconds, default 5"),
	sup(SectionRouter, "disable_cooldowns", ""),
	sup(SectionRouter, "retry_policy", ""),
	sup(SectionRouter, "allowed_fails_policy", ""),
	sup(SectionRouter, "fallbacks", ""),
	sup(SectionRouter, "context_window_fallbacks", ""),
	sup(SectionRouter, "content_policy_fallbacks", ""),
	sup(SectionRouter, "default_fallbacks", ""),
	sup(SectionRouter, "max_fallbacks", "default 5"),
	sup(SectionRouter, "model_group_alias", "{alias: group} or {alias: {model: group, hidden: bool}}"),
	sup(SectionRouter, "enable_pre_call_checks", ""),
	part(SectionRouter, "enable_pre_call_check", "spelling used in LiteLLM's docs; read as enable_pre_call_checks", true),
	sup(SectionRouter, "redis_host", ""),
	sup(SectionRouter, "redis_port", "int or string"),
	sup(SectionRouter, "redis_password", ""),
	sup(SectionRouter, "redis_url", ""),
	sup(SectionRouter, "default_max_parallel_requests", ""),
	sup(SectionRouter, "enable_tag_filtering", "a request goes to the deployments whose litellm_params.tags match its tags (the body's metadata.tags and tags, x-litellm-tags, its key's and team's metadata.tags), else to those tagged \"default\", else 401 \"Not allowed to access model due to tags configuration\"; an untagged request goes to the \"default\" ones when there are any. In module mode a request with a virtual key is planned by ext_proc (the key table has no tags)"),
	sup(SectionRouter, "tag_filtering_match_any", "default true: a deployment matches when it has one of the request's tags; false: every one"),
	notYet(SectionRouter, "default_litellm_params", ""),
	notYet(SectionRouter, "default_priority", "request scheduler"),
	notYet(SectionRouter, "polling_interval", "request scheduler"),
	sup(SectionRouter, "caching_groups", "lists of model groups ([[gpt-a, gpt-b]]) whose requests share the response cache's entries: the cache key takes the group's list (as LiteLLM's str(tuple)) in place of the model group"),
	notYet(SectionRouter, "assistants_config", ""),
	notYet(SectionRouter, "client_ttl", "Envoy manages upstream connections"),
	sup(SectionRouter, "cache_responses", "true turns the response cache on when litellm_settings.cache does not (LiteLLM's Router: on the router's Redis when redis_url, or redis_host and redis_port, are set, else local; default_on, the default call types); with litellm_settings.cache set, that cache is used"),
	part(SectionRouter, "optional_pre_call_checks", "responses_api_deployment_check (a Responses request whose previous_response_id names a deployment of its group that can take it goes to that deployment, retries included; otherwise the group is planned as usual), session_affinity (the requests of one session — its x-litellm-trace-id, x-litellm-session-id, x-<vendor>-session-id or x-session-id header, else the body's litellm_session_id or metadata.session_id — per caller start on one deployment of the group while it can take them, on both request filters and every instance; its retries go to the others), deployment_affinity (the same per caller: a virtual key, the master key, a JWT user), enforce_model_rate_limits (deployment rpm/tpm are hard limits here with or without it, strict across instances; with it a group whose deployments are all at their limits is refused 429 with LiteLLM's \"litellm.RateLimitError: Model rate limit exceeded. RPM limit=…, current usage=…\" instead of \"No deployments available\"; it also turns on the deployments' itpm, otpm, rpd and tpd, as in LiteLLM: see litellm_params), router_budget_limiting (provider_budget_config and deployment budgets apply whenever set) and prompt_caching (a chat or /v1/messages request whose messages carry a cache_control breakpoint and at least 1,024 tokens goes first to the deployment that last answered the same prefix — looked up over its last 20 breakpoint positions, pinned for 5 minutes, an hour for a ttl \"1h\" breakpoint on a Claude deployment — its retries elsewhere; the pins are kept in memory and shared through Redis pub/sub; the module hands such bodies to ext_proc); encrypted_content_affinity and forward_client_headers_by_model_group are warned about", false),
	sup(SectionRouter, "model_group_affinity_config", "{group: [deployment_affinity, session_affinity, responses_api_deployment_check]}: a listed group takes exactly its own affinities instead of optional_pre_call_checks'; encrypted_content_affinity is warned about"),
	part(SectionRouter, "deployment_affinity_ttl_seconds", "how long a session's re-pin (session_affinity_repin_on_failover) lasts after its last use; a session's or caller's first deployment is a hash of it over the group's deployments, shared by every instance with no store, so it does not expire after the TTL as LiteLLM's cached pin does (it changes only when the group's deployments change)", true),
	sup(SectionRouter, "session_affinity_repin_on_failover", "a session whose deployment was cooling down and that another deployment answered stays on that one after the cooldown (for deployment_affinity_ttl_seconds after its last use; without it the session goes back); shared by the instances through Redis pub/sub, given to the module with its table"),
	sup(SectionRouter, "model_group_retry_policy", "{group: {<Class>Retries: n}}: the group's retry_policy, replacing router retry_policy for that model group (keyed by the group's name, not an alias)"),
	sup(SectionRouter, "provider_budget_config", "{provider: {budget_limit: USD, time_period: \"1d\"}}: as a deployment's max_budget, for the spend of all of the provider's deployments"),
	sup(SectionRouter, "retry_after", "seconds: the least wait before a retry on the same deployment (LiteLLM's backoff floor; a provider's Retry-After within 60 s wins, 8 s cap)"),
	sup(SectionRouter, "debug_level", "\"DEBUG\": debug-level logs (\"INFO\", the default: info); LITELLM_LOG (DEBUG, INFO, WARNING, ERROR) sets the level too"),
	sup(SectionRouter, "set_verbose", "debug-level logs (deprecated in LiteLLM, as litellm_settings.set_verbose)"),
	notYet(SectionRouter, "alerting_config", ""),
	notYet(SectionRouter, "router_general_settings", ""),
}

var keyIndex = func() map[string]map[string]KeyDoc {
	idx := map[string]map[string]KeyDoc{}
	for _, k := range keyTable {
		if idx[k.Section] == nil {
			idx[k.Section] = map[string]KeyDoc{}
		}
		if _, dup := idx[k.Section][k.Key]; dup {
			continue // first row wins; TestKeyTableNoDuplicates reports it
		}
		idx[k.Section][k.Key] = k
	}
	return idx
}()

// KeyReference returns the key registry, section by section, in table order.
func KeyReference() []KeyDoc {
	seen := map[[2]string]bool{}
	out := make([]KeyDoc, 0, len(keyTable))
	for _, k := range keyTable {
		id := [2]string{k.Section, k.Key}
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, k)
	}
	return out
}

func lookupKey(section, key string) (KeyDoc, bool) {
	k, ok := keyIndex[section][key]
	return k, ok
}

func sectionKeys(section string) []string {
	var out []string
	for _, k := range keyTable {
		if k.Section == section {
			out = append(out, k.Key)
		}
	}
	return out
}

// referenceMarkdown renders the key registry as docs/config-reference.md.
func referenceMarkdown() string {
	var b strings.Builder
	b.WriteString("# LiteLLM config keys in llmgate\n\n")
	b.WriteString("<!-- Generated from config/keys.go by `go test ./config -update`. Do not edit by hand. -->\n\n")
	b.WriteString("llmgate reads a LiteLLM proxy `config.yaml` unchanged. Each key LiteLLM documents is listed here with\n")
	b.WriteString("its status in llmgate:\n\n")
	b.WriteString("- **supported**: behaves as in LiteLLM.\n")
	b.WriteString("- **partial**: implemented in part, as the note says; a config that sets the key gets a warning when the\n")
	b.WriteString("  behaviour differs from LiteLLM's.\n")
	b.WriteString("- **not yet**: accepted, does nothing yet; a config that sets the key gets a warning.\n\n")
	b.WriteString("A key that neither LiteLLM nor llmgate knows is an error, with a \"did you mean\" hint. Exceptions:\n")
	b.WriteString("`litellm_params` keys that are not listed are sent to the provider as request defaults (with a warning),\n")
	b.WriteString("unless they look like a typo of a listed key; `model_info` keys that are not listed are passed through\n")
	b.WriteString("to `/model/info`.\n")
	b.WriteString(referenceTables("##"))
	return b.String()
}

// referenceTables is one Markdown table per config section, under headings
// of the given level ("##" in docs/config-reference.md, "###" in the README).
func referenceTables(heading string) string {
	var b strings.Builder
	section := ""
	for _, k := range KeyReference() {
		if k.Section != section {
			section = k.Section
			fmt.Fprintf(&b, "\n%s %s\n\n| key | status | note |\n| --- | --- | --- |\n", heading, section)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.Key, k.Status, strings.ReplaceAll(k.Note, "|", "\\|"))
	}
	return b.String()
}
