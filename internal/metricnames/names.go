package metricnames

// Default label sets, as LiteLLM's PrometheusMetricLabels name them.
var (
	TotalRequests   = []string{"end_user", "hashed_api_key", "api_key_alias", "requested_model", "team", "team_alias", "user", "status_code", "user_email", "route", "client_ip", "user_agent", "model_id", "org_id", "org_alias"}
	FailedRequests  = []string{"end_user", "hashed_api_key", "api_key_alias", "requested_model", "team", "team_alias", "user", "user_email", "exception_status", "exception_class", "route", "client_ip", "user_agent", "model_id", "org_id", "org_alias"}
	TotalLatency    = []string{"end_user", "hashed_api_key", "api_key_alias", "requested_model", "team", "team_alias", "user", "model", "model_id", "org_id", "org_alias"}
	APILatency      = []string{"model", "hashed_api_key", "api_key_alias", "team", "team_alias", "requested_model", "end_user", "user", "model_id", "org_id", "org_alias"}
	Tokens          = []string{"end_user", "hashed_api_key", "api_key_alias", "model", "team", "team_alias", "user", "user_email", "requested_model", "model_id", "org_id", "org_alias"}
	Spend           = []string{"end_user", "hashed_api_key", "api_key_alias", "model", "team", "team_alias", "user", "user_email", "client_ip", "user_agent", "model_id", "api_provider", "org_id", "org_alias"}
	Deployment      = []string{"requested_model", "litellm_model_name", "model_id", "api_base", "api_provider", "hashed_api_key", "api_key_alias", "team", "team_alias", "client_ip", "user_agent"}
	DeploymentFail  = []string{"requested_model", "litellm_model_name", "model_id", "api_base", "api_provider", "exception_status", "exception_class", "hashed_api_key", "api_key_alias", "team", "team_alias", "client_ip", "user_agent"}
	DeploymentState = []string{"litellm_model_name", "model_id", "api_base", "api_provider"}
	CooledDown      = []string{"litellm_model_name", "model_id", "api_base", "api_provider", "exception_status"}
	PerToken        = []string{"litellm_model_name", "model_id", "api_base", "api_provider", "hashed_api_key", "api_key_alias", "team", "team_alias"}
	Remaining       = []string{"model_group", "api_provider", "api_base", "litellm_model_name", "hashed_api_key", "api_key_alias", "model_id"}
	KeyBudget       = []string{"hashed_api_key", "api_key_alias"}
	TeamBudget      = []string{"team", "team_alias"}
	UserBudget      = []string{"user"}
)

// TotalRequestsMetric is the metric that prometheus_emit_stream_label adds
// its "stream" label to.
const TotalRequestsMetric = "litellm_proxy_total_requests_metric"

// Served are the LiteLLM metrics llmgate serves, by LiteLLM's name (a
// counter is exposed with "_total" after it), with their default labels.
var Served = map[string][]string{
	TotalRequestsMetric:                             TotalRequests,
	"litellm_proxy_failed_requests_metric":          FailedRequests,
	"litellm_requests_metric":                       Spend,
	"litellm_spend_metric":                          Spend,
	"litellm_input_tokens_metric":                   Tokens,
	"litellm_output_tokens_metric":                  Tokens,
	"litellm_total_tokens_metric":                   Tokens,
	"litellm_request_total_latency_metric":          TotalLatency,
	"litellm_llm_api_latency_metric":                APILatency,
	"litellm_llm_api_time_to_first_token_metric":    APILatency,
	"litellm_overhead_latency_metric":               Remaining,
	"litellm_deployment_latency_per_output_token":   PerToken,
	"litellm_deployment_success_responses":          Deployment,
	"litellm_deployment_failure_responses":          DeploymentFail,
	"litellm_deployment_total_requests":             Deployment,
	"litellm_deployment_cooled_down":                CooledDown,
	"litellm_deployment_state":                      DeploymentState,
	"litellm_remaining_requests_metric":             Remaining,
	"litellm_remaining_tokens_metric":               Remaining,
	"litellm_remaining_api_key_budget_metric":       KeyBudget,
	"litellm_api_key_max_budget_metric":             KeyBudget,
	"litellm_api_key_budget_remaining_hours_metric": KeyBudget,
	"litellm_remaining_team_budget_metric":          TeamBudget,
	"litellm_team_max_budget_metric":                TeamBudget,
	"litellm_team_budget_remaining_hours_metric":    TeamBudget,
	"litellm_remaining_user_budget_metric":          UserBudget,
	"litellm_user_max_budget_metric":                UserBudget,
	"litellm_user_budget_remaining_hours_metric":    UserBudget,
}

// Defined are LiteLLM's DEFINED_PROMETHEUS_METRICS: the names
// prometheus_metrics_config may list (LiteLLM refuses any other).
var Defined = map[string]bool{}

func init() {
	for n := range Served {
		Defined[n] = true
	}
	for _, n := range []string{"litellm_deployment_successful_fallbacks", "litellm_deployment_failed_fallbacks",
		"litellm_pod_lock_manager_size", "litellm_in_memory_daily_spend_update_queue_size", "litellm_redis_daily_spend_update_queue_size",
		"litellm_in_memory_spend_update_queue_size", "litellm_redis_spend_update_queue_size", "litellm_request_queue_time_seconds",
		"litellm_guardrail_latency_seconds", "litellm_guardrail_errors_total", "litellm_guardrail_requests_total",
		"litellm_cache_hits_metric", "litellm_cache_misses_metric", "litellm_cached_tokens_metric", "litellm_deployment_tpm_limit",
		"litellm_deployment_rpm_limit", "litellm_remaining_api_key_requests_for_model", "litellm_remaining_api_key_tokens_for_model",
		"litellm_llm_api_failed_requests_metric", "litellm_callback_logging_failures_metric"} {
		Defined[n] = true
	}
}
