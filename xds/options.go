package xds

import (
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/dynmod/filter"
)

// Options are the gateway's own settings that shape the Envoy resources
// (the LiteLLM config has no words for them).
type Options struct {
	// ListenAddress and Port of the client-facing listener (LiteLLM: 0.0.0.0:4000).
	ListenAddress string
	Port          uint32
	// ExtProcSocket is the Unix socket of the ext_proc server; when empty,
	// ExtProcAddress (host:port) is used.
	ExtProcSocket  string
	ExtProcAddress string
	// ExtProcTLS: Envoy dials ExtProcAddress over TLS (mTLS with a client
	// certificate); the files are read by Envoy.
	ExtProcTLS TLSFiles
	// ExtProcTimeout is ext_proc's message_timeout (Envoy's default, 200 ms, is too short
	// for a Redis round trip under load).
	ExtProcTimeout time.Duration
	// MaxRequestBytes bounds request bodies: Envoy buffers, the gRPC message size
	// and the retry buffer are all raised to it together.
	MaxRequestBytes uint32
	// ForceIPv4 is litellm_settings.force_ipv4: the deployments' clusters
	// resolve host names to IPv4 addresses only (Build sets it).
	ForceIPv4 bool
	// UpstreamTLS is litellm_settings' ssl_verify, ssl_certificate and
	// ssl_ecdh_curve, resolved with their environment variables (D112).
	UpstreamTLS config.UpstreamTLS
	// PassThrough holds general_settings' pass_through_endpoints and
	// litellm_key_header_name (among the client's credential headers a
	// pass-through route removes), D113.
	PassThrough config.GeneralSettings
	// AccessLog writes Envoy's access log to stdout.
	AccessLog bool
	// JSONAccessLog writes it as one JSON object per request (json_logs).
	JSONAccessLog bool
	// OutcomeLog sends every try and every planned request to the gateway's
	// access-log service (xds/accesslog.go): the source of the outcomes of
	// tries no attempt filter sees.
	OutcomeLog bool
	// CABundle is the trusted CA file for https upstreams.
	CABundle string
	// MaxInFlight sizes every circuit breaker (DefaultMaxInFlight when 0;
	// general_settings.global_max_parallel_requests sets it).
	MaxInFlight uint32
	// NoPriorityGroup renders model-group routes for Envoys older than 1.40
	// (weighted clusters, retries on the same deployment; xds/compat.go).
	NoPriorityGroup bool
	// FastPath compiles OpenAI-compatible and Azure deployments into fast-path
	// clusters (keys as SDS secrets over ADS, no attempt filter on successes,
	// D45). Off for resources rendered for a static bootstrap.
	FastPath bool
	// RequestModule, when set, puts llmgate's Go dynamic module (the
	// in-Envoy request filter, D53) before the ext_proc request filter,
	// with this filter config; Envoy must find the module
	// ($ENVOY_DYNAMIC_MODULES_SEARCH_PATH, xds/module.go).
	RequestModule *filter.Config
	// fastPathLua: fast-path clusters get the per-try path Lua filter (set by
	// Build, FastPathLua).
	fastPathLua bool
	// guardrailAnswers: a guardrail reads the provider's answer, or a vector
	// store's search results are added to it (set by Build): the request
	// filter may ask for it (D139, D150).
	guardrailAnswers bool
	// guardrails: the config has guardrails (their names come back in
	// x-litellm-applied-guardrails; D149).
	guardrails bool
	// realtime: the config has OpenAI or Azure deployments, whose realtime
	// sessions have routes and clusters (set by Build, D159).
	realtime bool
	// providerHeaders: return_response_headers (set by Build): the
	// provider's response headers copied as llm_provider-<name>.
	providerHeaders bool
}

// DefaultMaxRequestBytes is used when general_settings.max_request_size_mb is unset.
const DefaultMaxRequestBytes = 32 << 20

// MaxRequestBytes is the request body bound of a config:
// general_settings.max_request_size_mb, else DefaultMaxRequestBytes. Envoy's
// buffers and the request filter both apply it.
func MaxRequestBytes(cfg *config.Config) uint32 {
	if mb := cfg.General.MaxRequestSizeMB; mb > 0 {
		return uint32(min(mb*(1<<20), 1<<32-1))
	}
	return DefaultMaxRequestBytes
}

// withDefaults fills unset options.
func (o Options) withDefaults() Options {
	if o.ListenAddress == "" {
		o.ListenAddress = "0.0.0.0"
	}
	if o.Port == 0 {
		o.Port = 4000
	}
	if o.ExtProcTimeout == 0 {
		o.ExtProcTimeout = 5 * time.Second
	}
	if o.MaxRequestBytes == 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if o.CABundle == "" {
		o.CABundle = "/etc/ssl/certs/ca-certificates.crt"
	}
	return o
}
