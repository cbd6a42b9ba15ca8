package realtime

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/upstream"
)

// Paths are LiteLLM's realtime WebSocket routes (proxy_server.py's
// realtime_websocket_endpoint).
var Paths = []string{"/v1/realtime", "/realtime", "/openai/v1/realtime"}

// SessionPaths are the paths (without query) a deployment's sessions are
// sent to (Target).
func SessionPaths(provider string, b upstream.Base) []string {
	switch provider {
	case "openai":
		return []string{"/v1/realtime"}
	case "azure":
		return []string{b.BasePath + "/openai/realtime", b.BasePath + "/openai/v1/realtime"}
	}
	return nil
}

// IsRoute reports whether a request path (with or without its query) is a
// realtime route.
func IsRoute(rawPath string) bool {
	p, _, _ := strings.Cut(rawPath, "?")
	p = strings.TrimRight(p, "/")
	for _, r := range Paths {
		if p == r {
			return true
		}
	}
	return false
}

// The session bounds. Envoy holds the connection; it never holds a whole
// message (flow control, the listener's buffer limit), so these are the
// route's.
const (
	// MaxDuration is the longest session (the route's max_stream_duration;
	// OpenAI ends its own sessions at 60 minutes).
	MaxDuration = 60 * time.Minute
	// HandshakeTimeout bounds the provider's answer to the upgrade.
	HandshakeTimeout = 30 * time.Second
)

// IdleTimeout is how long a session may pass no frame either way: the
// router's stream_timeout, else its timeout, else 600 s (as streams).
func IdleTimeout(streamTimeout, timeout time.Duration) time.Duration {
	if streamTimeout > 0 {
		return streamTimeout
	}
	if timeout > 0 {
		return timeout
	}
	return 600 * time.Second
}

// TranscriptionModel is the model group LiteLLM routes a session asking
// intent=transcription without a model to.
const TranscriptionModel = "gpt-realtime-whisper"

// Query is what LiteLLM reads of the client's query: model and intent
// (every other parameter is dropped).
type Query struct {
	Model, Intent       string
	HasModel, HasIntent bool
}

// ParseQuery reads the realtime query of a request path.
func ParseQuery(rawPath string) Query {
	_, raw, _ := strings.Cut(rawPath, "?")
	v, _ := url.ParseQuery(raw)
	var q Query
	if m, ok := v["model"]; ok && len(m) > 0 {
		q.Model, q.HasModel = m[0], true
	}
	if i, ok := v["intent"]; ok && len(i) > 0 {
		q.Intent, q.HasIntent = i[0], true
	}
	return q
}

// Group is the model group a session asks for ("" when none: LiteLLM
// closes it with "model query parameter is required").
func (q Query) Group() string {
	if q.HasModel {
		return q.Model
	}
	if q.Intent == "transcription" {
		return TranscriptionModel
	}
	return ""
}

// BetaHeader reports whether an OpenAI-Beta header value asks for the
// beta protocol (LiteLLM's detect_beta_header: "realtime=v1" in it).
func BetaHeader(v string) bool {
	return strings.Contains(strings.ToLower(v), "realtime=v1")
}

// Supported reports whether a provider has a realtime endpoint here.
func Supported(provider string) bool { return provider == "openai" || provider == "azure" }

// ErrProvider is a deployment whose provider has no realtime endpoint here.
var ErrProvider = errors.New("realtime: the deployment's provider has no realtime endpoint here")

// Target is the path (with its query) of a session on deployment d, whose
// provider model is model, as LiteLLM builds the URL: OpenAI's
// <host>/v1/realtime (the api_base's path replaced) with the client's model
// (the deployment's) and intent; Azure's /openai/realtime?api-version=…&
// deployment=… (beta) or /openai/v1/realtime?model=… (GA) under the
// api_base. envProtocol is LITELLM_AZURE_REALTIME_PROTOCOL.
func Target(d *config.Deployment, b upstream.Base, model string, q Query, clientBeta bool, envProtocol string) (string, error) {
	v := make([]string, 0, 3)
	add := func(k, val string) { v = append(v, url.QueryEscape(k)+"="+url.QueryEscape(val)) }
	var path string
	switch d.Provider {
	case "openai":
		path = "/v1/realtime"
		dropModel := q.Intent == "transcription" && (b.Host == "api.openai.com" || strings.HasSuffix(b.Host, ".api.openai.com"))
		if q.HasModel && !dropModel {
			add("model", model)
		}
	case "azure":
		if AzureGA(d.Params.RealtimeProtocol, envProtocol, q, clientBeta) {
			path = b.BasePath + "/openai/v1/realtime"
			if q.Intent != "transcription" && q.HasModel {
				add("model", model)
			}
		} else {
			path = b.BasePath + "/openai/realtime"
			ver := d.Params.APIVersion
			if ver == "" {
				ver = "2024-10-01-preview"
			}
			add("api-version", ver)
			add("deployment", model)
		}
	default:
		return "", ErrProvider
	}
	if q.HasIntent && q.Intent != "" {
		add("intent", q.Intent)
	}
	if len(v) > 0 {
		path += "?" + strings.Join(v, "&")
	}
	return b.WithQuery(path), nil
}

// AzureGA reports whether an Azure session uses the GA endpoint: the
// deployment's realtime_protocol, else LITELLM_AZURE_REALTIME_PROTOCOL
// ("GA" or "v1", any case: GA; anything else: beta), else GA for
// intent=transcription, else beta when the client sent OpenAI-Beta:
// realtime=v1, else GA (LiteLLM's azure_realtime_protocol_for_client).
func AzureGA(configured, env string, q Query, clientBeta bool) bool {
	p := configured
	if p == "" {
		p = env
	}
	if p == "" {
		if q.Intent == "transcription" {
			return true
		}
		return !clientBeta
	}
	return strings.EqualFold(p, "GA") || strings.EqualFold(p, "v1")
}
