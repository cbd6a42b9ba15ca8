package config

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/llmgate/llmgate/internal/msgparams"
)

// Pos is a place in a config file.
type Pos struct {
	File   string
	Line   int
	Column int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Severity of a Diagnostic.
type Severity int

const (
	// SeverityError makes a config invalid.
	SeverityError Severity = iota
	// SeverityWarning marks a key LiteLLM accepts that llmgate does not implement (yet).
	SeverityWarning
)

// Diagnostic is one finding about a config file, always with file:line and the key path.
type Diagnostic struct {
	Pos      Pos
	Key      string // dotted key path, e.g. "router_settings.routing_strategy" or "model_list[2].litellm_params.model"
	Message  string
	Severity Severity
}

func (d Diagnostic) String() string {
	kind := "error"
	if d.Severity == SeverityWarning {
		kind = "warning"
	}
	return fmt.Sprintf("%s: %s: %s: %s", d.Pos, kind, d.Key, d.Message)
}

// Config is a loaded, resolved and validated LiteLLM proxy config.
// Every os.environ/ reference is resolved, and defaults are applied:
// Router holds the effective router values (router_settings merged with
// the litellm_settings that feed the router, then LiteLLM's defaults).
type Config struct {
	File string
	// LogLevel is the gateway's log level: debug with litellm_settings or
	// router_settings set_verbose, router_settings.debug_level "DEBUG" or
	// LITELLM_LOG=DEBUG; error with LITELLM_LOG=ERROR (or CRITICAL);
	// warn with LITELLM_LOG=WARNING; else info.
	LogLevel slog.Level
	// Includes are the files the config's include merged in, in order.
	Includes []string
	Models   []Deployment // model_list, in file order, only those served in this environment
	Skipped  []Deployment // deployments left out by model_info.supported_environments
	LiteLLM  LiteLLMSettings
	General  GeneralSettings
	Router   RouterSettings
	EnvVars  map[string]string // environment_variables (values resolved)
	// MCPServers is the top-level mcp_servers, sorted by name (mcp.go).
	MCPServers []MCPServer
	// FilesSettings is the top-level files_settings (files.go, D147);
	// FilesSettingsSet: the key is in the config (LiteLLM's create route
	// refuses an upload without it).
	FilesSettings    []FilesSetting
	FilesSettingsSet bool
	// Guardrails are the guardrails llmgate runs: litellm_settings.guardrails'
	// callbacks (Legacy), then the top-level guardrails list's entries.
	Guardrails []Guardrail
	// LegacyGuardrails are litellm_settings.guardrails' entries (LiteLLM's
	// v1 form): each name's callbacks, for a request's metadata.guardrails
	// mapping (guardrails_legacy.go).
	LegacyGuardrails map[string][]string
	// ListedGuardrails are every guardrails entry as GET /guardrails/list
	// shows it, run or not (guardrails.go).
	ListedGuardrails []ListedGuardrail
	// SearchTools is the top-level search_tools (searchtools.go).
	SearchTools []SearchTool
	// VectorStores is the top-level vector_store_registry (vectorstores.go).
	VectorStores []VectorStore
	// vectorStoreDefault: OpenAI from the environment, for ids no entry names.
	vectorStoreDefault VectorStore
	// lakeraRoles: the v1 prompt_injection entry's enabled_roles
	// (guardrails_legacy.go).
	lakeraRoles []string
	Warnings    []Diagnostic // accepted but not implemented keys, and other non-fatal findings
}

// Deployment is one model_list entry.
type Deployment struct {
	// ID is model_info.id when set, else a stable id derived from model_name and
	// the non-secret litellm_params (see config/doc.go, "Deployment ids").
	ID        string
	ModelName string // the model group the client asks for; may contain '*' (Wildcard)
	Wildcard  bool
	Provider  string // canonical provider: openai, azure, anthropic, bedrock, vertex_ai, gemini, ...
	// Model is litellm_params.model without the provider prefix ("gpt-4o",
	// "anthropic.claude-3-haiku-20240307-v1:0"). May contain '*' for wildcard deployments.
	Model  string
	Params LiteLLMParams
	Info   ModelInfo
	Pos    Pos // position of the list entry
}

// LiteLLMParams is litellm_params of a deployment.
type LiteLLMParams struct {
	Model        string // as written, e.g. "azure/gpt-4o"
	APIKey       string // secret; never log
	APIBase      string // empty: the provider default
	APIVersion   string
	Organization string
	RPM          int64 // 0: unset
	TPM          int64 // 0: unset
	// ITPM and OTPM are the input and output tokens per minute, RPD and
	// TPD the requests and tokens per day (LiteLLM's ModelRateLimitingCheck,
	// read with optional_pre_call_checks' enforce_model_rate_limits: D180);
	// ITPM/OTPM also from model_info. 0: unset.
	ITPM, OTPM int64
	RPD, TPD   int64
	// DailyReset is daily_reset_time ("HH:MM" UTC): when the rpd/tpd day
	// starts, as an offset from midnight UTC.
	DailyReset    time.Duration
	Weight        float64
	Timeout       time.Duration // 0: unset
	StreamTimeout time.Duration // 0: unset
	MaxRetries    *int
	// NumRetries is litellm_params.num_retries: like MaxRetries, the retries
	// of a request whose first try is this deployment; it wins over MaxRetries.
	NumRetries   *int
	ExtraHeaders map[string]string
	// UseInPassThrough is use_in_pass_through: the deployment's api_key and
	// api_base serve its provider's pass-through route (/anthropic/…).
	UseInPassThrough bool
	// AWS
	AWSAccessKeyID     string // secret
	AWSSecretAccessKey string // secret
	AWSSessionToken    string // secret
	AWSRegionName      string
	// AWSRoleName, AWSSessionName, AWSWebIdentityToken (secret),
	// AWSSTSEndpoint, AWSProfileName and AWSExternalID are aws_role_name,
	// aws_session_name, aws_web_identity_token, aws_sts_endpoint,
	// aws_profile_name and aws_external_id (each else its AWS_* variable):
	// temporary credentials from STS or a profile (internal/awscreds).
	AWSRoleName         string
	AWSSessionName      string
	AWSWebIdentityToken string
	AWSSTSEndpoint      string
	AWSProfileName      string
	AWSExternalID       string
	// Azure Entra ID (each else its AZURE_* variable): AzureADToken is
	// azure_ad_token (secret), a bearer token sent as it is; TenantID,
	// ClientID and ClientSecret (secret) are tenant_id, client_id and
	// client_secret (client credentials); AzureUsername and AzurePassword
	// (secret) are azure_username and azure_password (with client_id);
	// AzureScope is azure_scope. AzureAuthKind says which one a deployment
	// uses.
	AzureADToken  string
	TenantID      string
	ClientID      string
	ClientSecret  string
	AzureUsername string
	AzurePassword string
	AzureScope    string
	// AzureAuthorityHost is where Entra ID tokens come from:
	// AZURE_AUTHORITY_HOST, else Entra ID's public host.
	AzureAuthorityHost string
	// AWSBedrockRuntimeEndpoint is aws_bedrock_runtime_endpoint (else
	// AWS_BEDROCK_RUNTIME_ENDPOINT): where a bedrock/ deployment's requests go
	// (a VPC endpoint or a proxy) when api_base is not set.
	AWSBedrockRuntimeEndpoint string
	// Google
	VertexProject     string
	VertexLocation    string
	VertexCredentials string // secret: JSON or a path
	// Behaviour
	MockResponse *string
	// MockTimeout is litellm_params.mock_timeout: the deployment never calls
	// its provider; a try on it waits its timeout and fails with a timeout.
	MockTimeout bool
	// MockDelay is litellm_params.mock_delay: a mock_response answer waits
	// this long first (at most 50 s; D119).
	MockDelay            time.Duration
	DropParams           *bool
	AdditionalDropParams []string
	// NoSystemMessage is litellm_params.supports_system_message: false: a
	// chat request's system messages become user text before the call
	// (translator.MapSystemMessages, D103).
	NoSystemMessage bool
	// Messages are the message rewrites of ensure_alternating_roles,
	// user_continue_message, assistant_continue_message and
	// cache_control_injection_points (nil: none; D119).
	Messages *msgparams.Params
	// MergeReasoning is merge_reasoning_content_in_choices: a translated
	// stream's reasoning_content goes into its content as <think>…</think>
	// (translator.MergeReasoningStream, D119).
	MergeReasoning bool
	// UseChatCompletionsAPI is use_chat_completions_api: the deployment
	// answers /v1/responses through LiteLLM's chat completions bridge even
	// when its provider has a Responses API (D148).
	UseChatCompletionsAPI bool
	// RealtimeProtocol is realtime_protocol: an Azure deployment's realtime
	// endpoint, "GA"/"v1" (/openai/v1/realtime) or "beta" (/openai/realtime);
	// empty: LITELLM_AZURE_REALTIME_PROTOCOL, else chosen per session as
	// LiteLLM does (internal/realtime, D159).
	RealtimeProtocol string
	// AllowedOpenAIParams is allowed_openai_params: params a translated
	// provider takes as sent, past its checks and drop_params (D119).
	AllowedOpenAIParams []string
	MaxParallelRequests int
	// DefaultKeyRPMLimit / DefaultKeyTPMLimit are default_api_key_rpm_limit /
	// default_api_key_tpm_limit: each virtual key's limits on this model
	// group (the group's smallest; 0: none; D109).
	DefaultKeyRPMLimit int64
	DefaultKeyTPMLimit int64
	CooldownTime       *time.Duration
	// ClientsideAuthParams is configurable_clientside_auth_params: the
	// banned request-body params a request for this model group may carry
	// (a name, or for api_base a regex its value must match; D156). Nil: unset.
	ClientsideAuthParams []ClientsideAuthParam
	// CustomLLMProvider is litellm_params.custom_llm_provider: when set it is
	// the provider, and the whole model string is the model id.
	CustomLLMProvider string
	// Tags are litellm_params.tags: added to the request_tags of the spend
	// logs of the requests this deployment answers (D84).
	Tags []string
	// RegionName is litellm_params.region_name ("eu", "us"…): with
	// enable_pre_call_checks, a request whose end user has an
	// allowed_model_region goes only to the deployments of that region
	// (D173).
	RegionName string
	// TagRegex is litellm_params.tag_regex: patterns matched against the
	// request's "User-Agent: <value>" under tag routing (invalid ones
	// dropped with a warning, as LiteLLM skips them).
	TagRegex []string
	// MaxBudget and BudgetDuration are litellm_params.max_budget (USD) and
	// budget_duration: the deployment's spend limit per window (both set,
	// else none; D89).
	MaxBudget      float64
	BudgetDuration time.Duration
	// MaxFileSizeMB is litellm_params.max_file_size_mb (0: none): the
	// largest /v1/audio/transcriptions file the group whose first
	// deployment this is takes (MiB).
	MaxFileSizeMB float64
	// Guardrails is litellm_params.guardrails (a name or a list): the
	// guardrails every request to the deployment's model group runs besides
	// those it names (LiteLLM's model-level guardrails, D157).
	Guardrails []string
	// Order is litellm_params.order (nil: unset): the deployment's priority
	// in its model group, lowest first (internal/model, D89).
	Order *int
	// Defaults are the remaining litellm_params (temperature, max_tokens, top_p,
	// stop, ...) sent with every request unless the request sets them.
	Defaults map[string]any
}

// ModelInfo is model_info of a deployment.
type ModelInfo struct {
	ID                 string
	ITPM, OTPM         int64  // itpm/otpm (LiteLLMParams' win; D180)
	Mode               string // chat, completion, embedding, ...
	InputCostPerToken  *float64
	OutputCostPerToken *float64
	// InputCostPerSecond and OutputCostPerSecond price a call by its
	// duration where the per-token price is not set or zero (D102).
	InputCostPerSecond  *float64
	OutputCostPerSecond *float64
	// The prices of the routes after embeddings (D130): per generated
	// image (or per pixel of it), per character of a speech input, per
	// rerank search unit.
	OutputCostPerImage    *float64
	InputCostPerPixel     *float64
	InputCostPerCharacter *float64
	InputCostPerQuery     *float64
	// CacheReadInputTokenCost and CacheCreationInputTokenCost price the
	// prompt tokens read from and written to a provider's prompt cache
	// (each the input price when unset).
	CacheReadInputTokenCost     *float64
	CacheCreationInputTokenCost *float64
	MaxTokens                   int
	MaxInputTokens              int
	MaxOutputTokens             int
	BaseModel                   string
	SupportedEnvironments       []string
	// AccessGroups are model_info.access_groups: a key or team whose
	// models name one of them may call this deployment's model group.
	AccessGroups []string
	Metadata     map[string]any
	// HealthCheckTimeout is model_info.health_check_timeout: how long one
	// health check of this deployment may take (0: General.HealthCheckTimeout).
	HealthCheckTimeout time.Duration
	// HealthCheckModel is model_info.health_check_model without its
	// provider prefix: the provider model id health checks call instead of
	// Model (a wildcard deployment has no callable model). Empty: Model.
	HealthCheckModel string
	Extra            map[string]any // any other key, passed through to /model/info
}

// Fallback is one {group: [g1, g2]} entry.
type Fallback struct {
	Group string
	To    []string
	Pos   Pos
}

// Budget is a spend limit in USD per window (provider_budget_config's
// budget_limit and time_period).
type Budget struct {
	Max    float64
	Window time.Duration
}

// Alias is one model_group_alias entry.
type Alias struct {
	Group  string
	Hidden bool
	Pos    Pos // where the alias is written
}

// RouterSettings are the effective router values.
type RouterSettings struct {
	RoutingStrategy        string         // default "simple-shuffle"
	RoutingStrategyArgs    map[string]any // e.g. lowest_latency_buffer, ttl
	NumRetries             int            // default 2 (see LITELLM_SEMANTICS)
	NumRetriesSet          bool           // true when written in the config
	Timeout                time.Duration  // default 600s; litellm_settings.request_timeout feeds it
	StreamTimeout          time.Duration  // default: Timeout
	AllowedFails           int            // default 3
	CooldownTime           time.Duration  // default 5s
	DisableCooldowns       bool
	RetryPolicy            map[string]int // e.g. "RateLimitErrorRetries": 3
	AllowedFailsPolicy     map[string]int // e.g. "BadRequestErrorAllowedFails": 1000
	Fallbacks              []Fallback
	ContextWindowFallbacks []Fallback
	ContentPolicyFallbacks []Fallback
	DefaultFallbacks       []string
	MaxFallbacks           int // default 5
	ModelGroupAlias        map[string]Alias
	EnablePreCallChecks    bool
	// ResponsesAffinity is optional_pre_call_checks'
	// responses_api_deployment_check: a Responses request with a
	// previous_response_id goes to the deployment that answered it.
	ResponsesAffinity bool
	// SessionAffinity and DeploymentAffinity are optional_pre_call_checks'
	// session_affinity (a request's session id) and deployment_affinity (its
	// caller's key): the requests of one session or caller stick to one
	// deployment of a group while it can take them (D168).
	SessionAffinity, DeploymentAffinity bool
	// ModelGroupAffinity is model_group_affinity_config: a listed group's
	// own affinities, instead of the three above.
	ModelGroupAffinity map[string]AffinityChecks
	// EnforceModelRateLimits is optional_pre_call_checks'
	// enforce_model_rate_limits: a group whose deployments are all at their
	// rpm or tpm is refused with LiteLLM's ModelRateLimitingCheck message.
	EnforceModelRateLimits bool
	// PromptCaching is optional_pre_call_checks' prompt_caching: a chat
	// request whose messages carry a cacheable prefix (cache_control
	// breakpoints, at least PromptCacheMinTokens tokens) goes to the
	// deployment that last answered the same prefix (D179).
	PromptCaching bool
	// DeploymentAffinityTTL is deployment_affinity_ttl_seconds (default
	// 3600): how long a session's re-pin lasts unused (D179).
	DeploymentAffinityTTL time.Duration
	// SessionAffinityRepin is session_affinity_repin_on_failover: after a
	// session's deployment cooled down and another one answered it, the
	// session stays on that one (D179).
	SessionAffinityRepin bool
	// CachingGroups are router_settings.caching_groups: model groups whose
	// requests share response cache entries.
	CachingGroups [][]string
	// Debug is router_settings.set_verbose or debug_level "DEBUG": the
	// router's debug logs (Config.LogLevel).
	Debug                      bool
	DefaultMaxParallelRequests int
	EnableTagFiltering         bool
	// TagFilteringMatchAny is tag_filtering_match_any (default true): a
	// deployment matches a request sharing any tag with it; false: carrying
	// every tag of the request.
	TagFilteringMatchAny bool
	// ModelGroupRetryPolicy is model_group_retry_policy: a retry_policy per
	// model group, used for that group instead of RetryPolicy.
	ModelGroupRetryPolicy map[string]map[string]int
	// ProviderBudgets is provider_budget_config: a spend limit per window
	// for every deployment of a provider (D89).
	ProviderBudgets map[string]Budget
	// RetryAfter is retry_after: the least wait before a retry that
	// LiteLLM's backoff sleeps before (0: none).
	RetryAfter time.Duration
	// Redis for shared router state; empty when not configured.
	RedisHost     string
	RedisPort     string
	RedisPassword string // secret
	RedisURL      string // secret (may embed a password)
}

// LiteLLMSettings is litellm_settings (the keys not folded into Router).
type LiteLLMSettings struct {
	DropParams           bool
	AdditionalDropParams []string
	RequestTimeout       time.Duration // 0: unset
	NumRetries           *int
	JSONLogs             bool
	// ForceIPv4 is force_ipv4: upstream host names resolve to IPv4
	// addresses only.
	ForceIPv4 bool
	// NoUserURLValidation is user_url_validation: false. Else (LiteLLM's
	// default) a request's own api_base must resolve to public addresses
	// only, unless its host is in UserURLAllowedHosts
	// (user_url_allowed_hosts: "host", "host:port", "[v6]", "[v6]:port"; D156).
	NoUserURLValidation bool
	UserURLAllowedHosts []string
	// UpstreamTLS is ssl_verify, ssl_certificate and ssl_ecdh_curve with
	// their environment variables (ssl.go).
	UpstreamTLS UpstreamTLS
	// DisableUserAgentTags is disable_add_user_agent_to_request_tags: no
	// "User-Agent: …" tags in the spend logs' request_tags (D84).
	DisableUserAgentTags bool
	SetVerbose           bool
	// ModifyParams is modify_params (else LITELLM_MODIFY_PARAMS, set to
	// anything): requests are mended as LiteLLM mends them for Anthropic
	// (translator.Target.ModifyParams, D148).
	ModifyParams    bool
	modifyParamsSet bool
	// EnableJSONSchemaValidation is enable_json_schema_validation: a
	// non-streamed chat answer is checked against the request's
	// response_format.json_schema.schema (extproc/jsonschema.go, D148).
	EnableJSONSchemaValidation bool
	Cache                      bool
	CacheParams                CacheParams
	// EnablePreviewFeatures is enable_preview_features: LiteLLM's v1 "s3"
	// callback honours s3_use_team_prefix only with it (s3Env).
	EnablePreviewFeatures bool
	// Callbacks, SuccessCallback and FailureCallback are the callback names
	// (only "prometheus" is implemented; see Prometheus).
	Callbacks       []string
	SuccessCallback []string
	FailureCallback []string
	// RedactMessagesInExceptions is redact_messages_in_exceptions: the
	// llm_too_slow alert says the messages are not logged (D98).
	RedactMessagesInExceptions bool
	// PrometheusSystem is service_callback: ["prometheus_system"]: LiteLLM's
	// service metrics (Redis, PostgreSQL, self) on /metrics.
	PrometheusSystem bool
	// MetricsAuthOff is require_auth_for_metrics_endpoint: false. LiteLLM
	// asks for a key on the proxy port's /metrics unless it is set false.
	MetricsAuthOff bool
	// PrometheusLatencyBuckets replaces LiteLLM's latency buckets (seconds).
	PrometheusLatencyBuckets []float64
	// PrometheusTuning are custom_prometheus_metadata_labels,
	// custom_prometheus_tags, prometheus_metrics_config and
	// prometheus_emit_stream_label (prometheus.go).
	PrometheusTuning PrometheusSettings
	// DisableEndUserCostTracking is disable_end_user_cost_tracking: no end
	// user is tracked (LiteLLM's get_end_user_id_for_cost_tracking answers
	// None); read by the Prometheus metrics (their end_user label).
	DisableEndUserCostTracking bool
	// ForwardTraceparent is forward_traceparent_to_llm_provider: the
	// client's traceparent header reaches the provider.
	// TeamCallbacks are default_team_settings: team-based logging.
	TeamCallbacks      []TeamCallbacks
	ForwardTraceparent bool
	// ReturnResponseHeaders is return_response_headers: each provider
	// response header also reaches the client as llm_provider-<name>
	// (D110, xds/providerheaders.go).
	ReturnResponseHeaders bool
	// ForwardHeadersGroups is model_group_settings.forward_client_headers_to_llm_api:
	// the model groups (exact names, or patterns ending in *) whose requests
	// forward client headers as general_settings.forward_client_headers_to_llm_api does.
	ForwardHeadersGroups []string
	// Logging is what the logging callbacks (generic_api, langfuse) need:
	// turn_off_message_logging, redact_user_api_key_info and the
	// environment variables LiteLLM's loggers read.
	Logging LoggingSettings
	// AuditLogs are store_audit_logs, audit_log_callbacks and
	// s3_audit_callback_params (auditlogs.go).
	AuditLogs AuditLogSettings
	// MaxEndUserBudget is max_end_user_budget: the budget of a customer (the
	// request's `user`) without one of its own; MaxEndUserBudgetID is
	// max_end_user_budget_id, a /budget/new budget used the same way (it wins).
	MaxEndUserBudget   *float64
	MaxEndUserBudgetID string
	// MaxBudget and BudgetDuration are max_budget and budget_duration: the
	// proxy-wide budget (internal/keys/proxybudget.go); nil: none.
	MaxBudget      *float64
	BudgetDuration string
	// KeyGen are default_key_generate_params, upperbound_key_generate_params
	// and key_generation_settings (keygen.go).
	KeyGen KeyGenSettings
	Raw    map[string]any // every litellm_settings key as written (resolved)
}

// CacheParams is litellm_settings.cache_params.
type CacheParams struct {
	Type               string // local (default when cache: true and no type), redis, ...
	Host               string
	Port               string
	Password           string // secret
	Namespace          string
	TTL                time.Duration
	Mode               string // default_on (default) or default_off
	SupportedCallTypes []string
	// StartupNodes are redis_startup_nodes (else REDIS_CLUSTER_NODES) as
	// host:port: a Redis Cluster.
	StartupNodes []string
	// SentinelNodes are sentinel_nodes (else REDIS_SENTINEL_NODES) as
	// host:port, with service_name (else REDIS_SERVICE_NAME) the master's
	// name and sentinel_password (else REDIS_SENTINEL_PASSWORD, secret) the
	// sentinels' password: a Redis behind Sentinel.
	SentinelNodes    []string
	ServiceName      string
	SentinelPassword string
	// S3 is type s3's bucket and credentials (s3_*; cache_stores.go).
	S3 S3Cache
	// DiskDir is type disk's disk_cache_dir (default ".litellm_cache").
	DiskDir string
	// Qdrant is type qdrant-semantic's settings.
	Qdrant QdrantCache
	// GCS is type gcs's bucket and credentials (gcs_*; cache_stores.go).
	GCS GCSCache
	// DefaultInMemoryTTL and DefaultInRedisTTL are default_in_memory_ttl
	// and default_in_redis_ttl: TTL's value for type local, and for type
	// redis, when set (0: unset).
	DefaultInMemoryTTL, DefaultInRedisTTL time.Duration
	// S3NoSSL is s3_use_ssl: false (AWS's endpoint over http).
	S3NoSSL bool
}

// S3Cache are cache_params' s3_* keys (type s3), the AWS_* variables filling
// what they leave out.
type S3Cache struct {
	Bucket, Region, Endpoint string
	// AccessKeyID, SecretAccessKey (secret), SessionToken (secret).
	AccessKeyID, SecretAccessKey, SessionToken string
	Path                                       string // s3_path: the objects' key prefix
	InsecureSkipVerify                         bool   // s3_verify: false
}

// GCSCache are cache_params' gcs_* keys (type gcs, LiteLLM's GCSCache).
type GCSCache struct {
	// Bucket is gcs_bucket_name, else GCS_BUCKET_NAME.
	Bucket string
	// ServiceAccount is gcs_path_service_account, else
	// GCS_PATH_SERVICE_ACCOUNT, else GOOGLE_APPLICATION_CREDENTIALS: a path
	// to a service account's JSON key, or the JSON itself (secret).
	ServiceAccount string
	// Path is gcs_path: the folder the objects go under ("" or "a/b/").
	Path string
	// Endpoint is the JSON API's root: DefaultGCSEndpoint, or
	// CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE's.
	Endpoint string
}

// QdrantCache are cache_params' qdrant keys (type qdrant-semantic).
type QdrantCache struct {
	APIBase    string // qdrant_api_base, else QDRANT_URL, else QDRANT_API_BASE
	APIKey     string // qdrant_api_key, else QDRANT_API_KEY (secret)
	Collection string // qdrant_collection_name (required)
	// Quantization is qdrant_quantization_config: binary (default), scalar
	// or product; used when the collection is created.
	Quantization string
	// Threshold is similarity_threshold (required): a hit's least cosine
	// similarity.
	Threshold float64
	// EmbeddingModel is qdrant_semantic_cache_embedding_model (default
	// text-embedding-ada-002), a model group of the model_list.
	EmbeddingModel string
	// VectorSize is qdrant_semantic_cache_vector_size (default 1536).
	VectorSize int
}

// GeneralSettings is general_settings.
type GeneralSettings struct {
	MasterKey string // secret
	// MasterKeyFromEnv: MasterKey came from $LITELLM_MASTER_KEY.
	MasterKeyFromEnv bool
	DatabaseURL      string // secret
	// KeyManagement is key_management_system with its settings (nil: no
	// secret manager; secrets.go).
	KeyManagement    *KeyManagement
	MaxRequestSizeMB float64 // 0: unset
	// MaxFileSizeMB and MaxBatchFileSizeMB bound a /v1/files upload and a
	// batch input file (MiB; 0: none; D147).
	MaxFileSizeMB      int
	MaxBatchFileSizeMB int
	MaxResponseSizeMB  float64
	// CompletionModel and EmbeddingModel are completion_model and
	// embedding_model: the model every chat/completions (and /v1/messages)
	// request, and every embeddings request, is served by, whatever the
	// body or an Azure-style path names, as LiteLLM's proxy sets data["model"]
	// ("": the request's model).
	CompletionModel string
	EmbeddingModel  string
	// ImageGenerationModel and ModerationModel are image_generation_model
	// (an Azure-style path's model still wins) and moderation_model (D130).
	ImageGenerationModel      string
	ModerationModel           string
	MaxParallelRequests       int
	GlobalMaxParallelRequests int
	LiteLLMKeyHeaderName      string
	// PassThroughEndpoints is pass_through_endpoints (passthrough.go).
	PassThroughEndpoints []PassThroughEndpoint
	// ForwardClientHeaders is forward_client_headers_to_llm_api: the client's
	// x-* headers (not x-stainless-*, nor keys or proxy headers) and
	// anthropic-beta reach the provider. Off: no client header does.
	ForwardClientHeaders bool
	// ForwardOpenAIOrgID is forward_openai_org_id: the client's
	// OpenAI-Organization header reaches the provider.
	ForwardOpenAIOrgID bool
	// AllowClientSideCredentials is allow_client_side_credentials: every
	// banned request-body param (api_base, base_url, …) is accepted (D156).
	AllowClientSideCredentials bool
	// AllowNoMasterKey is llmgate_allow_no_master_key: a hot reload may
	// remove master_key only when the new file sets it (on purpose; a
	// half-written file never does).
	AllowNoMasterKey bool
	// BackgroundHealthChecks is background_health_checks: every deployment
	// is checked every HealthCheckInterval off the request path and /health
	// answers from the latest run.
	BackgroundHealthChecks bool
	// HealthCheckHidesDetails is health_check_details: false: /health lists
	// each endpoint by its model only (LiteLLM's MINIMAL_DISPLAY_PARAMS).
	HealthCheckHidesDetails bool
	// Alerting is alerting, alerting_threshold, alert_types,
	// alert_to_webhook_url, alerting_args and SLACK_WEBHOOK_URL.
	Alerting            Alerting
	HealthCheckInterval time.Duration
	// HealthCheckTimeout bounds one deployment's check: LiteLLM's
	// HEALTH_CHECK_TIMEOUT_SECONDS (environment, default 60 s); a deployment's
	// model_info.health_check_timeout wins.
	HealthCheckTimeout time.Duration
	// AllowMockTesting is dangerously_allow_mock_testing_request_params: the
	// request fields that fake a failure (mock_testing_*, mock_timeout) are
	// honoured; without it a request carrying one is refused with a 400.
	AllowMockTesting bool
	// UserAPIKeyCacheTTL is user_api_key_cache_ttl (0: the default, 60 s).
	UserAPIKeyCacheTTL time.Duration
	// ProxyBatchWriteAt is proxy_batch_write_at (0: the default, 10 s).
	ProxyBatchWriteAt time.Duration
	DisableSpendLogs  bool
	// StorePromptsInSpendLogs is store_prompts_in_spend_logs: the spend logs
	// carry the request body and the answer (D117).
	StorePromptsInSpendLogs bool
	// EnforceUserParam, EnforcedParams, AllowedIPs (nil: not set) and
	// UseXForwardedFor are the request checks of D90 (extproc/keys.go).
	EnforceUserParam bool
	EnforcedParams   []string
	// ServiceAccountEnforcedParams is service_account_settings'
	// enforced_params: required of service account keys' requests too.
	ServiceAccountEnforcedParams []string
	AllowedIPs                   []string
	UseXForwardedFor             bool
	// PublicRoutes is public_routes: routes served without a key (exact,
	// or a prefix when the entry ends in "*"), D90.
	PublicRoutes []string
	// EnableJWTAuth and JWTAuth are enable_jwt_auth and litellm_jwtauth
	// (D97; JWTAuth is nil unless EnableJWTAuth, then set with LiteLLM's
	// defaults and JWT_PUBLIC_KEY_URL / JWT_AUDIENCE).
	EnableJWTAuth bool
	JWTAuth       *JWTAuth
	// AllowedRoutes (nil: not set) and AdminOnlyRoutes are allowed_routes
	// and admin_only_routes (D97): the routes served at all, and those only
	// an admin may call.
	AllowedRoutes   []string
	AdminOnlyRoutes []string
	// OAuth2ProxyAuth is enable_oauth2_proxy_auth with oauth2_config_mappings
	// (D97; nil unless enabled): a request's caller is read from the headers
	// an OAuth2 proxy in front of the gateway sets.
	OAuth2ProxyAuth *OAuth2ProxyAuth
	// OAuth2Auth is enable_oauth2_auth with LiteLLM's OAUTH_* variables
	// (nil: off; oauth2.go, D118).
	OAuth2Auth    *OAuth2Auth
	oauth2Pending *OAuth2ProxyAuth // oauth2_config_mappings as read, until oauth2Env
	// DisableResetBudget is disable_reset_budget: budget periods never
	// restart.
	DisableResetBudget bool
	// DefaultTeamDisabled is default_team_disabled: /sso/get/ui_settings'
	// DEFAULT_TEAM_DISABLED (D109).
	DefaultTeamDisabled bool
	// BudgetReschedulerMin / BudgetReschedulerMax are
	// proxy_budget_rescheduler_min_time / _max_time: how often budget
	// periods are checked for a reset (0: after every spend batch; D109).
	BudgetReschedulerMin, BudgetReschedulerMax time.Duration
	// DatabasePoolLimit and DatabaseTimeout are database_connection_pool_limit
	// and database_connection_timeout (D96): the PostgreSQL pool's size (0:
	// LiteLLM's default, 10) and the bound on opening one connection (0:
	// LiteLLM's default, 60 s).
	DatabasePoolLimit int
	DatabaseTimeout   time.Duration
	// DisableMasterKeyReturn is disable_master_key_return (D96): /user/info
	// lists no key row holding the master key's hash.
	DisableMasterKeyReturn bool
	// StoreModelInDB is store_model_in_db (or STORE_MODEL_IN_DB=True in
	// the environment): /model/new|update|delete keep deployments in the key
	// store, added to model_list at every load.
	StoreModelInDB bool
	Raw            map[string]any
}

// AzureAuth is how an Azure deployment authenticates (LiteLLM's order: a
// static azure_ad_token, then the api key, then Entra ID client credentials,
// then username and password).
type AzureAuth int

// The Azure authentications.
const (
	AzureAPIKey AzureAuth = iota
	AzureStaticToken
	AzureClientSecret
	AzureUserPassword
)

// AzureAuthKind is how the deployment's Azure credentials authenticate; an
// Entra ID one makes the requests carry "Authorization: Bearer <token>".
func (p *LiteLLMParams) AzureAuthKind() AzureAuth {
	switch {
	case p.AzureADToken != "":
		return AzureStaticToken
	case p.APIKey != "":
		return AzureAPIKey
	case p.TenantID != "" && p.ClientID != "" && p.ClientSecret != "":
		return AzureClientSecret
	case p.AzureUsername != "" && p.AzurePassword != "" && p.ClientID != "":
		return AzureUserPassword
	}
	return AzureAPIKey
}
