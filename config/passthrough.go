package config

import (
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// PassThroughEndpoint is one general_settings.pass_through_endpoints entry:
// requests to Path (and under it with IncludeSubpath) are sent to Target
// unchanged, with Headers set (D113).
type PassThroughEndpoint struct {
	Pos Pos
	ID  string
	// Path is the gateway's route ("/v1/rerank"), without a trailing '/'.
	Path string
	// Target is the URL requests are forwarded to: scheme, host, port and
	// path; a subpath is appended to its path.
	Target *url.URL
	// Headers are set on every forwarded request (os.environ/ references
	// inside a value resolved), sorted by name. Their values may be secrets.
	Headers [][2]string
	// ForwardHeaders: the client's headers go on too (else its credential
	// headers are removed).
	ForwardHeaders bool
	IncludeSubpath bool
	// Methods restricts the route to these HTTP methods (empty: any).
	Methods []string
	// Timeout bounds the whole exchange (default DefaultPassThroughTimeout).
	Timeout time.Duration
	// Auth is auth: true: a request needs a key the gateway accepts (the
	// request filter checks it before the request goes on).
	Auth bool
	// Provider is set on a provider's own pass-through route (/anthropic,
	// D122), which the gateway builds from that provider's credential.
	Provider string
	// Vertex and AWS are the credentials the request filter puts on each
	// request of the /vertex_ai and /bedrock routes (cloudpass.go, D169).
	Vertex *VertexPassThrough
	AWS    *AWSPassThrough
}

// passThroughCredentialHeaders are the client's credentials for the
// gateway, which a pass-through request loses unless forward_headers is
// true.
var passThroughCredentialHeaders = []string{"authorization", "proxy-authorization", "x-api-key", "api-key",
	"x-goog-api-key", "x-litellm-api-key", "ocp-apim-subscription-key", "cookie"}

// PassThroughCredentialHeaders are the headers a pass-through request
// without forward_headers loses: the client's credentials for the gateway,
// litellm_key_header_name among them (lower case).
func (gs *GeneralSettings) PassThroughCredentialHeaders() []string {
	out := append([]string(nil), passThroughCredentialHeaders...)
	if h := strings.ToLower(strings.TrimSpace(gs.LiteLLMKeyHeaderName)); h != "" && !slices.Contains(out, h) {
		out = append(out, h)
	}
	return out
}

// PassThroughAuth is the pass_through_endpoints entry with auth: true that
// serves path (its query ignored), or nil.
func (gs *GeneralSettings) PassThroughAuth(path string) *PassThroughEndpoint {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for i := range gs.PassThroughEndpoints {
		ep := &gs.PassThroughEndpoints[i]
		if ep.Auth && (path == ep.Path || ep.IncludeSubpath && strings.HasPrefix(path, ep.Path+"/")) {
			return ep
		}
	}
	return nil
}

// DefaultPassThroughTimeout is LiteLLM's pass_through_request_timeout
// default: 600 seconds.
const DefaultPassThroughTimeout = 600 * time.Second

var envRef = regexp.MustCompile(`os\.environ/([A-Za-z_][A-Za-z0-9_]*)`)

// passThroughEndpoints reads the list.
func (p *parser) passThroughEndpoints(gs *GeneralSettings, n *yaml.Node, key string) {
	items, ok := p.sequence(n, key)
	if !ok {
		return
	}
	seen := map[string]bool{}
	for i, item := range items {
		ikey := key + "[" + strconv.Itoa(i) + "]"
		es, ok := p.mapping(item, ikey)
		if !ok {
			continue
		}
		ep := PassThroughEndpoint{Pos: posOf(p.fileOf(item), deref(item)), Timeout: DefaultPassThroughTimeout}
		var target string
		bad := false
		for _, e := range es {
			k, v := joinKey(ikey, e.Key), e.Value
			switch e.Key {
			case "path":
				ep.Path, _ = p.str(v, k)
			case "target":
				target, _ = p.str(v, k)
			case "id":
				ep.ID, _ = p.str(v, k)
			case "headers":
				hs, _ := p.mapping(v, k)
				for _, h := range hs {
					val, ok := p.str(h.Value, joinKey(k, h.Key))
					if !ok {
						continue
					}
					val = p.headerEnv(h.Value, joinKey(k, h.Key), val)
					if strings.ContainsAny(val, "\r\n") || strings.ContainsAny(h.Key, " \t\r\n:") {
						p.errAt(h.Value, joinKey(k, h.Key), "not a valid header")
						bad = true
						continue
					}
					ep.Headers = append(ep.Headers, [2]string{strings.ToLower(h.Key), val})
				}
			case "forward_headers":
				ep.ForwardHeaders, _ = p.bool(v, k)
			case "include_subpath":
				ep.IncludeSubpath, _ = p.bool(v, k)
			case "auth":
				ep.Auth, _ = p.bool(v, k)
			case "methods":
				ms, _ := p.strList(v, k)
				for _, m := range ms {
					m = strings.ToUpper(strings.TrimSpace(m))
					switch m {
					case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
						ep.Methods = append(ep.Methods, m)
					default:
						p.errAt(v, k, "unknown method %q", m)
						bad = true
					}
				}
			case "timeout":
				if f, ok := p.positive(v, k); ok {
					ep.Timeout = time.Duration(min(f, 86400) * float64(time.Second))
				}
			case "cost_per_request", "guardrails", "merge_query_params", "default_query_params":
				p.warnAt(v, k, "not yet implemented; ignored")
			default:
				p.warnAt(e.KeyNode, k, "unknown pass-through endpoint key; ignored")
			}
		}
		ep.Path = strings.TrimRight(ep.Path, "/")
		switch {
		case ep.Path == "" || !strings.HasPrefix(ep.Path, "/") || strings.ContainsAny(ep.Path, "?#* \t"):
			p.errAt(item, joinKey(ikey, "path"), "must be a path starting with / (got %q)", ep.Path)
			continue
		case reservedPath(ep.Path):
			p.errAt(item, joinKey(ikey, "path"), "%s is one of the gateway's own routes", ep.Path)
			continue
		case seen[ep.Path]:
			p.errAt(item, joinKey(ikey, "path"), "%s is already a pass-through endpoint", ep.Path)
			continue
		}
		seen[ep.Path] = true
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
			p.errAt(item, joinKey(ikey, "target"), "must be an http(s) URL, got %q", target)
			continue
		}
		if u.RawQuery != "" {
			p.warnAt(item, joinKey(ikey, "target"), "the target's query parameters are not yet sent; only the client's are")
			u.RawQuery = ""
		}
		if bad {
			continue
		}
		sort.SliceStable(ep.Headers, func(a, b int) bool { return ep.Headers[a][0] < ep.Headers[b][0] })
		ep.Target = u
		gs.PassThroughEndpoints = append(gs.PassThroughEndpoints, ep)
	}
}

// headerEnv replaces os.environ/NAME inside a header value by the variable
// ("bearer os.environ/COHERE_API_KEY"), as LiteLLM does for pass-through
// headers; an unset variable is an error.
func (p *parser) headerEnv(n *yaml.Node, key, val string) string {
	return envRef.ReplaceAllStringFunc(val, func(ref string) string {
		name := strings.TrimPrefix(ref, "os.environ/")
		v, ok := p.lookup(name)
		if !ok {
			p.errAt(n, key, "environment variable %s is not set (referenced as os.environ/%s)", name, name)
		}
		return v
	})
}

// reservedPath reports whether a path is one the gateway serves itself: an
// LLM route, a management route, health, models, metrics.
func reservedPath(p string) bool {
	rest := strings.TrimPrefix(p, "/v1")
	for _, r := range []string{"/chat/completions", "/completions", "/embeddings", "/models", "/responses",
		"/messages", "/health", "/metrics", "/key", "/team", "/user", "/customer", "/budget", "/spend",
		"/global", "/model", "/model_group", "/openai", "/engines", "/cache"} {
		if rest == r || strings.HasPrefix(rest, r+"/") {
			return true
		}
	}
	return p == "/v1" || p == ""
}

// providerRoutes are LiteLLM's provider pass-through routes
// (llm_passthrough_endpoints.py) that llmgate serves: the route, the
// variable naming the provider's base URL and its default, the credential
// variable, the headers that carry the credential (with their prefix), and
// the path the route's subpaths go under at the provider.
var providerRoutes = []struct {
	provider, path, baseEnv, base, keyEnv string
	headers                               [][2]string // name, prefix
	under                                 string
}{
	{"anthropic", "/anthropic", "ANTHROPIC_API_BASE", "https://api.anthropic.com", "ANTHROPIC_API_KEY", [][2]string{{"x-api-key", ""}}, ""},
	{"cohere", "/cohere", "COHERE_API_BASE", "https://api.cohere.com", "COHERE_API_KEY", [][2]string{{"authorization", "bearer "}}, ""},
	{"mistral", "/mistral", "MISTRAL_API_BASE", "https://api.mistral.ai", "MISTRAL_API_KEY", [][2]string{{"authorization", "Bearer "}}, ""},
	// LiteLLM appends the key as ?key=; Google reads the same key from this header.
	{"gemini", "/gemini", "GEMINI_API_BASE", "https://generativelanguage.googleapis.com", "GEMINI_API_KEY", [][2]string{{"x-goog-api-key", ""}}, ""},
	// LiteLLM's openai_proxy_route sends both headers and puts /v1 in front
	// of a path that has none: /openai/files and /openai/v1/files both reach
	// /v1/files. /openai/deployments/… stays the Azure-style LLM route.
	{"openai", "/openai", "OPENAI_API_BASE", "https://api.openai.com", "OPENAI_API_KEY", [][2]string{{"authorization", "Bearer "}, {"api-key", ""}}, "/v1"},
}

// providerPassThroughs adds the provider pass-through routes (D122):
// /anthropic/<path> goes to the provider's <path> with the provider's
// credential, after the gateway's key check, as LiteLLM's
// anthropic_proxy_route does. The credential is a deployment's with
// use_in_pass_through (its api_base, path dropped, the target), else the
// provider's variable (ANTHROPIC_API_KEY; ANTHROPIC_API_BASE or the
// provider's URL the target). A provider without a credential gets no
// route; a pass_through_endpoints entry on the same path wins.
func (p *parser) providerPassThroughs(cfg *Config) {
	gs := &cfg.General
	taken := map[string]bool{}
	for _, ep := range gs.PassThroughEndpoints {
		taken[ep.Path] = true
	}
	for _, r := range providerRoutes {
		if taken[r.path] {
			continue
		}
		key, base, where := "", "", r.keyEnv
		var pos Pos
		for _, d := range cfg.Models {
			if d.Provider == r.provider && d.Params.UseInPassThrough && d.Params.APIKey != "" {
				key, base, pos, where = d.Params.APIKey, d.Params.APIBase, d.Pos, "model_list "+d.ModelName+" use_in_pass_through"
				break
			}
		}
		if key == "" {
			key, _ = p.lookup(r.keyEnv)
			base, _ = p.lookup(r.baseEnv)
		}
		if key == "" {
			continue
		}
		if base == "" {
			base = r.base
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.warnAt(nil, where, "the %s pass-through route is not served: its base URL %q is not an http(s) URL", r.provider, base)
			continue
		}
		target := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: r.under} // LiteLLM replaces the base URL's path
		headers := make([][2]string, len(r.headers))
		for i, h := range r.headers {
			headers[i] = [2]string{h[0], h[1] + key}
		}
		sort.Slice(headers, func(i, j int) bool { return headers[i][0] < headers[j][0] })
		ep := PassThroughEndpoint{
			Pos: pos, ID: r.provider, Path: r.path, Target: target, IncludeSubpath: true, Auth: true,
			Headers: headers, Timeout: DefaultPassThroughTimeout, Provider: r.provider,
		}
		if r.under != "" {
			// The path already under it first: /openai/v1/x → /v1/x, not /v1/v1/x.
			under := ep
			under.Path = r.path + r.under
			gs.PassThroughEndpoints = append(gs.PassThroughEndpoints, under)
		}
		gs.PassThroughEndpoints = append(gs.PassThroughEndpoints, ep)
	}
}
