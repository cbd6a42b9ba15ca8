package upstream

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/provider"
)

// Base is where a deployment's requests go.
type Base struct {
	Scheme   string // http or https
	Host     string // host name or IP, without port
	Port     uint32
	BasePath string // path prefix without trailing slash, e.g. "/v1" or ""
	TLS      bool
	// Query is api_base's raw query ("key=…"): sent on every request to the
	// provider (WithQuery), never shown (Redact).
	Query string
}

// Authority is host[:port] as sent in :authority (port omitted when default).
func (b Base) Authority() string {
	if (b.TLS && b.Port == 443) || (!b.TLS && b.Port == 80) {
		return b.Host
	}
	return net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
}

// URL is the base as a string.
func (b Base) URL() string { return b.Scheme + "://" + b.Authority() + b.BasePath }

// APIBase is the effective api_base of a deployment: the configured one, else
// the provider's default (bedrock and vertex_ai derive it from region/location;
// bedrock's aws_bedrock_runtime_endpoint comes before its region's endpoint).
func APIBase(d *config.Deployment) string {
	if d.Params.APIBase != "" {
		return d.Params.APIBase
	}
	p, _ := provider.Lookup(d.Provider)
	switch p.Base {
	case provider.BaseAWSRegion:
		// LiteLLM's order: api_base, then aws_bedrock_runtime_endpoint (or
		// AWS_BEDROCK_RUNTIME_ENDPOINT), then the region's public endpoint.
		return provider.BedrockAPIBase(d.Params.AWSBedrockRuntimeEndpoint, d.Params.AWSRegionName)
	case provider.BaseVertexLocation:
		return provider.VertexAPIBase(d.Params.VertexLocation)
	}
	return d.APIBaseOrDefault()
}

// For parses the deployment's effective api_base.
func For(d *config.Deployment) (Base, error) {
	raw := APIBase(d)
	if raw == "" {
		return Base{}, fmt.Errorf("deployment %q: no api_base and provider %q has no default", d.ID, d.Provider)
	}
	return Parse(raw)
}

// Parse reads an api_base URL. A missing scheme means https.
func Parse(raw string) (Base, error) {
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Base{}, fmt.Errorf("api_base %q: not a valid URL", Redact(raw))
	}
	b := Base{Scheme: strings.ToLower(u.Scheme), Host: u.Hostname(), BasePath: strings.TrimRight(u.EscapedPath(), "/"), Query: u.RawQuery}
	switch b.Scheme {
	case "https":
		b.TLS, b.Port = true, 443
	case "http":
		b.Port = 80
	default:
		return Base{}, fmt.Errorf("api_base %q: scheme must be http or https", Redact(raw))
	}
	if b.Host == "" {
		return Base{}, fmt.Errorf("api_base %q: no host", Redact(raw))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return Base{}, fmt.Errorf("api_base %q: bad port", Redact(raw))
		}
		b.Port = uint32(n)
	}
	return b, nil
}

// WithQuery adds the api_base's query parameters to a request path (after
// the path's own, e.g. Azure's api-version).
func (b Base) WithQuery(path string) string {
	if b.Query == "" {
		return path
	}
	if strings.Contains(path, "?") {
		return path + "&" + b.Query
	}
	return path + "?" + b.Query
}

// WithoutQuery is an api_base without its query and fragment: what the
// translators build paths from.
func WithoutQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}

// Redact is an api_base as it may be shown (/model/info, /health, logs):
// user info and every query parameter's value replaced by REDACTED — they
// may be credentials (Gemini's key=, Azure APIM's subscription-key=).
func Redact(raw string) string {
	base, query, hasQuery := strings.Cut(WithoutQuery(raw)+queryOf(raw), "?")
	if at := strings.LastIndex(base, "@"); at >= 0 {
		if s := strings.Index(base, "://"); s >= 0 && s < at && !strings.Contains(base[s+3:at], "/") {
			base = base[:s+3] + "REDACTED@" + base[at+1:]
		}
	}
	if !hasQuery {
		return base
	}
	parts := strings.Split(query, "&")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok {
			parts[i] = k + "=REDACTED"
		}
	}
	return base + "?" + strings.Join(parts, "&")
}

func queryOf(raw string) string {
	raw, _, _ = strings.Cut(raw, "#")
	if i := strings.Index(raw, "?"); i >= 0 {
		return raw[i:]
	}
	return ""
}
