package config

import (
	"strconv"
	"strings"
	"time"
)

// Environment variables LiteLLM's logging callbacks read.
const (
	EnvGenericLoggerEndpoint = "GENERIC_LOGGER_ENDPOINT"
	EnvGenericLoggerHeaders  = "GENERIC_LOGGER_HEADERS"
	EnvLangfusePublicKey     = "LANGFUSE_PUBLIC_KEY"
	EnvLangfuseSecretKey     = "LANGFUSE_SECRET_KEY"
	EnvLangfuseHost          = "LANGFUSE_HOST"
	// EnvBatchSize and EnvFlushInterval are LiteLLM's batch-logger knobs
	// (DEFAULT_BATCH_SIZE, DEFAULT_FLUSH_INTERVAL_SECONDS).
	EnvBatchSize     = "DEFAULT_BATCH_SIZE"
	EnvFlushInterval = "DEFAULT_FLUSH_INTERVAL_SECONDS"
)

// LiteLLM's batch-logger defaults.
const (
	DefaultCallbackBatchSize     = 512
	DefaultCallbackFlushInterval = 5 * time.Second
	// DefaultLangfuseHost is Langfuse's cloud, LiteLLM's default.
	DefaultLangfuseHost = "https://cloud.langfuse.com"
)

// LoggingSettings configure the logging callbacks.
type LoggingSettings struct {
	// TurnOffMessageLogging is turn_off_message_logging: messages and
	// responses are replaced by "redacted-by-litellm".
	TurnOffMessageLogging bool
	// RedactUserAPIKeyInfo is redact_user_api_key_info: the key's hash,
	// alias, team and user ids are left out of callback payloads.
	RedactUserAPIKeyInfo bool
	// GenericEndpoint and GenericHeaders are GENERIC_LOGGER_ENDPOINT and
	// GENERIC_LOGGER_HEADERS ("k1=v1,k2=v2"; values are secret).
	GenericEndpoint string
	GenericHeaders  map[string]string
	// LangfuseHost, LangfusePublicKey and LangfuseSecretKey (secret) are
	// LANGFUSE_HOST (default DefaultLangfuseHost), LANGFUSE_PUBLIC_KEY and
	// LANGFUSE_SECRET_KEY.
	LangfuseHost      string
	LangfusePublicKey string
	LangfuseSecretKey string
	// LangfuseDefaultTags is langfuse_default_tags: the request fields
	// added to each Langfuse trace's tags as "name:value" (D91);
	// ProxyBaseURL is PROXY_BASE_URL, read with it (its proxy_base_url tag).
	LangfuseDefaultTags []string
	ProxyBaseURL        string
	// OTel* configure the otel callback's OTLP trace exporter, from the
	// standard OTEL_* variables (LiteLLM's OTEL_EXPORTER/OTEL_ENDPOINT/
	// OTEL_HEADERS as fallbacks). OTelProtocol is "grpc" or "http/protobuf";
	// OTelEndpoint is the full traces URL for http/protobuf, the target URL
	// for grpc; OTelHeaders values are secret.
	OTelProtocol string
	OTelEndpoint string
	// OTelMetricsEndpoint is where the GenAI metrics go:
	// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else the base endpoint
	// (+ /v1/metrics over HTTP).
	OTelMetricsEndpoint string
	OTelHeaders         map[string]string
	OTelServiceName     string
	// OTelSampler is OTEL_TRACES_SAMPLER as the OTel SDK reads it
	// (always_on, always_off, traceidratio, parentbased_always_on — the
	// default —, parentbased_always_off, parentbased_traceidratio);
	// OTelSamplerRatio its OTEL_TRACES_SAMPLER_ARG for the ratio samplers
	// (0..1, default 1). D58.
	OTelSampler      string
	OTelSamplerRatio float64
	// OTelLogsEndpoint is where the OTLP access log records go when the logs
	// exporter is configured (OTEL_LOGS_EXPORTER=otlp, or
	// OTEL_EXPORTER_OTLP_LOGS_ENDPOINT set; "" otherwise):
	// OTEL_EXPORTER_OTLP_LOGS_ENDPOINT as written, else the base endpoint
	// (+ /v1/logs over HTTP). Its protocol and headers: the _LOGS_ variables,
	// else the general ones.
	OTelLogsEndpoint string
	OTelLogsProtocol string
	OTelLogsHeaders  map[string]string
	// Named are callback_settings' generic_api instances (sorted by name);
	// each receives events when a callback list names it.
	Named []NamedCallback
	// DefaultLangfuseHost is LANGFUSE_HOST, else DefaultLangfuseHost: the
	// host of a key's or team's Langfuse project that names none.
	DefaultLangfuseHost string
	// S3 is litellm_settings.s3_callback_params (nil when absent and no
	// callback list names s3).
	S3 *S3CallbackParams
	// Datadog is the datadog callback's environment (nil when no list
	// names it, or when it lacks what LiteLLM needs: an agent host, or
	// DD_API_KEY and DD_SITE).
	Datadog *DatadogEnv
	// LangSmith is the langsmith callback's environment (nil when no list
	// names it or LANGSMITH_API_KEY is unset).
	LangSmith *LangSmithEnv
	// SQS is litellm_settings.aws_sqs_callback_params completed from the
	// environment (nil when no list names aws_sqs or it lacks a queue URL
	// or credentials).
	SQS *SQSCallbackParams
	// Arize and Phoenix are the arize and arize_phoenix callbacks'
	// exporters (nil when no list names them).
	Arize, Phoenix *ArizeEnv
	// GCS is the gcs_bucket callback's environment (nil when no list names
	// it or it lacks a bucket or credentials).
	GCS *GCSBucketEnv
	// BatchSize and FlushInterval bound each callback's batches.
	BatchSize     int
	FlushInterval time.Duration
}

// CallbackEvents says which events the named callback receives: a name in
// callbacks gets both, in success_callback successes, in failure_callback
// failures.
func (ls *LiteLLMSettings) CallbackEvents(name string) (success, failure bool) {
	has := func(l []string) bool {
		for _, c := range l {
			if c == name {
				return true
			}
		}
		return false
	}
	both := has(ls.Callbacks)
	return both || has(ls.SuccessCallback), both || has(ls.FailureCallback)
}

// callbackEnv reads the environment variables of the logging callbacks the
// config names (environment_variables first, as for every lookup), warning
// when one the callback needs is missing: the callback then sends nothing.
func (p *parser) callbackEnv(cfg *Config) {
	ls := &cfg.LiteLLM
	lg := &ls.Logging
	get := func(name string) string { v, _ := p.lookup(name); return strings.TrimSpace(v) }
	lg.BatchSize = DefaultCallbackBatchSize
	if n, err := strconv.Atoi(get(EnvBatchSize)); err == nil && n > 0 {
		lg.BatchSize = min(n, 10000)
	}
	lg.FlushInterval = DefaultCallbackFlushInterval
	if f, err := strconv.ParseFloat(get(EnvFlushInterval), 64); err == nil && f > 0 {
		lg.FlushInterval = time.Duration(min(f, 3600) * float64(time.Second))
	}
	teamGeneric, teamOTel := false, false
	for _, tc := range ls.TeamCallbacks {
		teamGeneric = teamGeneric || tc.GenericSuccess || tc.GenericFailure
		teamOTel = teamOTel || tc.OTel
	}
	// Read whether or not a list names it: key and team metadata may (D64).
	lg.GenericEndpoint = get(EnvGenericLoggerEndpoint)
	lg.GenericHeaders = parseHeaderList(get(EnvGenericLoggerHeaders))
	if s, f := ls.CallbackEvents("generic_api"); (s || f || teamGeneric) && lg.GenericEndpoint == "" {
		p.add(SeverityWarning, 0, 0, "litellm_settings.callbacks", "callback \"generic_api\": %s is not set; no events are sent", EnvGenericLoggerEndpoint)
	}
	lg.DefaultLangfuseHost = strings.TrimRight(get(EnvLangfuseHost), "/")
	if lg.DefaultLangfuseHost == "" {
		lg.DefaultLangfuseHost = DefaultLangfuseHost
	}
	// With an OTLP endpoint in the environment the variables are read even
	// when no list names otel: a virtual key's or a team's metadata.logging
	// may (D69).
	if s, f := ls.CallbackEvents("otel"); s || f || teamOTel || get("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		p.otelEnv(lg, get)
	}
	p.s3Env(ls, get)
	p.datadogEnv(ls, get)
	p.langsmithEnv(ls, get)
	p.sqsEnv(ls, get)
	p.arizeEnv(ls, get)
	p.gcsEnv(ls, get)
	p.auditLogEnv(ls, get)
	modifyParamsEnv(ls, get)
	for i := range ls.TeamCallbacks {
		if tc := &ls.TeamCallbacks[i]; tc.LangfuseHost == "" {
			tc.LangfuseHost = strings.TrimRight(get(EnvLangfuseHost), "/")
			if tc.LangfuseHost == "" {
				tc.LangfuseHost = DefaultLangfuseHost
			}
		}
	}
	if s, f := ls.CallbackEvents("langfuse"); s || f {
		lg.LangfuseHost = strings.TrimRight(get(EnvLangfuseHost), "/")
		if lg.LangfuseHost == "" {
			lg.LangfuseHost = DefaultLangfuseHost
		}
		lg.LangfusePublicKey, lg.LangfuseSecretKey = get(EnvLangfusePublicKey), get(EnvLangfuseSecretKey)
		if lg.LangfusePublicKey == "" || lg.LangfuseSecretKey == "" {
			p.add(SeverityWarning, 0, 0, "litellm_settings.callbacks", "callback \"langfuse\": %s and %s must be set; no events are sent", EnvLangfusePublicKey, EnvLangfuseSecretKey)
		}
	}
}

// parseHeaderList reads "k1=v1,k2=v2" as LiteLLM's generic logger does
// (items without "=" are skipped).
func parseHeaderList(s string) map[string]string {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(item, "=")
		if k = strings.TrimSpace(k); ok && k != "" {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// otelEnv reads the OTLP exporter settings: OTEL_EXPORTER_OTLP_PROTOCOL
// (grpc | http/protobuf, the default), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces over HTTP), *_HEADERS
// ("k=v,k=v"), OTEL_SERVICE_NAME (default "litellm", as LiteLLM).
func (p *parser) otelEnv(lg *LoggingSettings, get func(string) string) {
	first := func(names ...string) string {
		for _, n := range names {
			if v := get(n); v != "" {
				return v
			}
		}
		return ""
	}
	proto := first("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	switch litellm := get("OTEL_EXPORTER"); {
	case proto != "":
	case litellm == "otlp_grpc" || litellm == "grpc":
		proto = "grpc"
	default:
		proto = "http/protobuf"
	}
	if proto != "grpc" && proto != "http/protobuf" {
		p.add(SeverityWarning, 0, 0, "OTEL_EXPORTER_OTLP_PROTOCOL", "protocol %q is not supported (grpc, http/protobuf); using http/protobuf", proto)
		proto = "http/protobuf"
	}
	lg.OTelProtocol = proto
	// A signal's own endpoint is used as written; the base endpoint gets the
	// signal's path over HTTP (the OTLP exporter spec), not over gRPC.
	endpoint := func(signalVar, path string) string {
		if ep := get(signalVar); ep != "" {
			return ep
		}
		base := first("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_ENDPOINT")
		switch {
		case base == "" && proto == "grpc":
			return "http://localhost:4317"
		case base == "":
			return "http://localhost:4318" + path
		case proto == "grpc":
			return base
		}
		return strings.TrimRight(base, "/") + path
	}
	lg.OTelEndpoint = endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/v1/traces")
	lg.OTelMetricsEndpoint = endpoint("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "/v1/metrics")
	lg.OTelHeaders = parseHeaderList(first("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_HEADERS"))
	lg.OTelServiceName = first("OTEL_SERVICE_NAME")
	if lg.OTelServiceName == "" {
		lg.OTelServiceName = "litellm"
	}
	p.otelSampler(lg, get)
	p.otelLogs(lg, get, first)
}

// DatadogEnv is what LiteLLM's DataDogLogger reads from the environment.
type DatadogEnv struct {
	// URL is the logs intake: http://LITELLM_DD_AGENT_HOST:LITELLM_DD_AGENT_PORT
	// (default port 10518), else https://http-intake.logs.DD_SITE; DD_BASE_URL
	// replaces either; + /api/v2/logs.
	URL string
	// APIKey is DD_API_KEY (secret; optional with an agent).
	APIKey string
	// Source (DD_SOURCE, default "litellm"), Service (DD_SERVICE, default
	// "litellm-server"), Hostname (HOSTNAME), Env (DD_ENV), Version
	// (DD_VERSION) and PodName (POD_NAME) — the last three "unknown" when
	// unset — are every event's fields and tags.
	Source, Service, Hostname, Env, Version, PodName string
	// BatchSize is DD_BATCH_SIZE, 1 to 1000 (default 1000).
	BatchSize int
}

// datadogEnv reads the datadog callback's variables when a callback list
// names "datadog".
func (p *parser) datadogEnv(ls *LiteLLMSettings, get func(string) string) {
	if s, f := ls.CallbackEvents("datadog"); !s && !f {
		return
	}
	or := withDefault(get)
	d := &DatadogEnv{APIKey: get("DD_API_KEY"), Source: or("DD_SOURCE", "litellm"), Service: or("DD_SERVICE", "litellm-server"),
		Hostname: get("HOSTNAME"), Env: or("DD_ENV", "unknown"), Version: or("DD_VERSION", "unknown"), PodName: or("POD_NAME", "unknown"),
		BatchSize: 1000}
	if n, err := strconv.Atoi(get("DD_BATCH_SIZE")); err == nil {
		d.BatchSize = min(max(n, 1), 1000)
	}
	switch host := get("LITELLM_DD_AGENT_HOST"); {
	case host != "":
		d.URL = "http://" + host + ":" + or("LITELLM_DD_AGENT_PORT", "10518")
	case d.APIKey == "" || get("DD_SITE") == "":
		p.add(SeverityWarning, 0, 0, "litellm_settings.callbacks", "callback \"datadog\": DD_API_KEY and DD_SITE (or LITELLM_DD_AGENT_HOST) must be set; no events are sent")
		return
	default:
		d.URL = "https://http-intake.logs." + get("DD_SITE")
	}
	if base := get("DD_BASE_URL"); base != "" {
		d.URL = base
	}
	d.URL = strings.TrimRight(d.URL, "/") + "/api/v2/logs"
	ls.Logging.Datadog = d
}

// LangSmithEnv is what LiteLLM's LangsmithLogger reads from the environment.
type LangSmithEnv struct {
	// APIKey is LANGSMITH_API_KEY (secret), TenantID LANGSMITH_TENANT_ID.
	APIKey, TenantID string
	// BaseURL is LANGSMITH_BASE_URL (default https://api.smith.langchain.com),
	// Project LANGSMITH_PROJECT (default "litellm-completion"), RunName
	// LANGSMITH_DEFAULT_RUN_NAME (default "LLMRun").
	BaseURL, Project, RunName string
	// BatchSize is LANGSMITH_BATCH_SIZE (0: DEFAULT_BATCH_SIZE's).
	BatchSize int
	// Off is LANGSMITH_SAMPLING_RATE 0. LiteLLM reads the rate only when it
	// is all digits (str.isdigit): "0.5" is read as 1, every run sent.
	Off bool
}

// langsmithEnv reads the langsmith callback's variables when a callback
// list names "langsmith".
func (p *parser) langsmithEnv(ls *LiteLLMSettings, get func(string) string) {
	if s, f := ls.CallbackEvents("langsmith"); !s && !f {
		return
	}
	or := withDefault(get)
	l := &LangSmithEnv{APIKey: get("LANGSMITH_API_KEY"), TenantID: get("LANGSMITH_TENANT_ID"),
		BaseURL: or("LANGSMITH_BASE_URL", "https://api.smith.langchain.com"), Project: or("LANGSMITH_PROJECT", "litellm-completion"),
		RunName: or("LANGSMITH_DEFAULT_RUN_NAME", "LLMRun")}
	if n, err := strconv.Atoi(get("LANGSMITH_BATCH_SIZE")); err == nil && n > 0 {
		l.BatchSize = min(n, 10000)
	}
	if r := get("LANGSMITH_SAMPLING_RATE"); r != "" && strings.Trim(r, "0123456789") == "" {
		n, _ := strconv.Atoi(r)
		l.Off = n == 0
	}
	if l.APIKey == "" {
		p.add(SeverityWarning, 0, 0, "litellm_settings.callbacks", "callback \"langsmith\": LANGSMITH_API_KEY is not set; no runs are sent")
		return
	}
	ls.Logging.LangSmith = l
}

// withDefault is get with a default for an unset or empty variable.
func withDefault(get func(string) string) func(name, def string) string {
	return func(name, def string) string {
		if v := get(name); v != "" {
			return v
		}
		return def
	}
}
