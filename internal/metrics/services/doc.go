// Package services records LiteLLM's service-health metrics
// (litellm_settings.service_callback: ["prometheus_system"]): for each
// service llmgate calls — Redis, PostgreSQL, and "self" (each successful LLM
// call) — the histogram litellm_<service>_latency and the counters
// litellm_<service>_total_requests_total and
// litellm_<service>_failed_requests_total (error_class, function_name), as
// LiteLLM's PrometheusServicesLogger names and labels them.
//
// The Redis client's hook and PostgreSQL's tracer record in process (an
// atomic histogram observation and counter increment, no I/O, no lock on
// success): nothing is sent anywhere, and nothing is recorded until the
// gateway sets the metrics. It imports client_golang, go-redis and pgx only;
// no config or gateway type enters it.
package services
