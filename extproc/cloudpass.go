package extproc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/awscreds"
	"github.com/llmgate/llmgate/internal/backendauth"
	"github.com/llmgate/llmgate/translator"
)

// The cloud pass-through routes (D169): LiteLLM's /vertex_ai/{endpoint}
// and the direct /bedrock/{endpoint}. Envoy's pass-through route sends the
// request to the provider's host; the request filter, once the caller's key
// is accepted (passThrough), puts the provider's credential on it: a Google
// access token kept fresh off the request path, or a SigV4 signature of the
// request as it leaves Envoy (host, path, query, content type, body). The
// client's credential headers are removed; the provider's credential never
// appears in a log line or an answer.

// cloudHeaders are the request filter's changes to a cloud pass-through
// request: headers set (:path among them) and removed; none on another
// route.
func cloudHeaders(ctx context.Context, ep *config.PassThroughEndpoint, h map[string]string, body []byte) (set [][2]string, remove []string, e *translator.Error) {
	switch {
	case ep.Vertex != nil:
		return vertexHeaders(ctx, ep, h, body)
	case ep.AWS != nil:
		return bedrockHeaders(ep, h, body, time.Now())
	}
	return nil, nil, nil
}

// headerValues turns the set list into Envoy's header options.
func headerValues(set [][2]string) []*corev3.HeaderValueOption {
	out := make([]*corev3.HeaderValueOption, 0, len(set))
	for _, kv := range set {
		out = append(out, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: kv[0], RawValue: []byte(kv[1])},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD})
	}
	return out
}

// --- Vertex AI ---

// vertexScope is the OAuth2 scope of Vertex AI.
const vertexScope = "https://www.googleapis.com/auth/cloud-platform"

// vertexTokenWait bounds how long a request waits for the first token of
// credentials that have none yet (the gateway just started).
const vertexTokenWait = 10 * time.Second

// vertexKeeperIdle: a keeper nobody asked for this long stops refreshing
// (its config was replaced); a later request starts a new one.
const vertexKeeperIdle = time.Hour

// vertexRefreshEvery is how often the keeper asks its token source, which
// answers from its cache until five minutes before the token expires.
var vertexRefreshEvery = 30 * time.Second

// vertexKeepers are the token keepers by credentials (one per distinct
// service account across configs).
var vertexKeepers sync.Map // string → *vertexKeeper

// vertexKeeper keeps one credential's access token fresh in the background:
// a request only reads the current token.
type vertexKeeper struct {
	tok     atomic.Pointer[oauth2.Token]
	failure atomic.Pointer[string] // the last refresh's error, nil when it worked
	ready   chan struct{}          // closed after the first try
	used    atomic.Int64           // unix nanoseconds of the last request
}

// vertexKeeperFor is the keeper of creds (service-account JSON, a path to
// it, or empty for GOOGLE_APPLICATION_CREDENTIALS), started at its first
// call: a config's states start theirs when the config is applied.
func vertexKeeperFor(creds string, log *slog.Logger) *vertexKeeper {
	if k, ok := vertexKeepers.Load(creds); ok {
		return k.(*vertexKeeper)
	}
	k := &vertexKeeper{ready: make(chan struct{})}
	k.used.Store(time.Now().UnixNano())
	if actual, loaded := vertexKeepers.LoadOrStore(creds, k); loaded {
		return actual.(*vertexKeeper)
	}
	src, err := vertexTokenSource(creds)
	if err != nil {
		msg := err.Error()
		k.failure.Store(&msg)
		close(k.ready)
		return k
	}
	go k.refresh(creds, src, log)
	return k
}

// StartCloudPass starts the token keeper of the config's /vertex_ai route
// and the credential chain of a /bedrock route without keys, so that its
// first request finds a token or keys (the gateway's ext_proc state
// only: the module in Envoy hands these routes on).
func StartCloudPass(cfg *config.Config, log *slog.Logger) {
	for _, ep := range cfg.General.PassThroughEndpoints {
		if ep.Vertex != nil {
			vertexKeeperFor(ep.Vertex.Credentials, log)
		}
		if ep.AWS != nil && ep.AWS.Chain {
			awsChainFor(ep.AWS)
		}
	}
}

// vertexTokenSource reads the credentials (a service account or an
// authorized user, as LiteLLM's google-auth accepts) with
// golang.org/x/oauth2/google. Errors never quote the credentials.
func vertexTokenSource(creds string) (oauth2.TokenSource, error) {
	js, err := backendauth.LoadVertexCredentials(creds)
	if err != nil {
		return nil, err
	}
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal([]byte(js.Reveal()), &head) != nil {
		return nil, errors.New("vertex credentials: not valid JSON")
	}
	t := google.CredentialsType(head.Type)
	if t != google.ServiceAccount && t != google.AuthorizedUser {
		return nil, fmt.Errorf("vertex credentials: type %q is not supported (service_account, authorized_user)", head.Type)
	}
	c, err := google.CredentialsFromJSONWithType(context.Background(), []byte(js.Reveal()), t, vertexScope)
	if err != nil {
		return nil, errors.New("vertex credentials: not valid " + head.Type + " credentials")
	}
	return oauth2.ReuseTokenSourceWithExpiry(nil, c.TokenSource, 5*time.Minute), nil
}

func (k *vertexKeeper) refresh(creds string, src oauth2.TokenSource, log *slog.Logger) {
	first := true
	for {
		tok, err := src.Token()
		if err == nil && tok.AccessToken != "" {
			k.tok.Store(tok)
			k.failure.Store(nil)
		} else {
			msg := vertexTokenError(err)
			k.failure.Store(&msg)
			log.Warn("vertex_ai pass-through: token refresh failed", "error", msg)
		}
		if first {
			close(k.ready)
			first = false
		}
		if time.Since(time.Unix(0, k.used.Load())) > vertexKeeperIdle {
			vertexKeepers.CompareAndDelete(creds, k)
			return
		}
		wait := vertexRefreshEvery
		if err != nil {
			wait = min(wait, 5*time.Second)
		}
		time.Sleep(wait)
	}
}

// vertexTokenError describes a failed token request without the response
// body (which could echo the assertion).
func vertexTokenError(err error) string {
	var re *oauth2.RetrieveError
	switch {
	case err == nil:
		return "vertex credentials: the token endpoint returned no access token"
	case errors.As(err, &re) && re.Response != nil:
		return fmt.Sprintf("vertex credentials: token request failed: HTTP %d %s", re.Response.StatusCode, re.ErrorCode)
	}
	return "vertex credentials: token request failed: " + err.Error()
}

// token is the current access token; a request that comes before the
// first try ends waits for it (bounded).
func (k *vertexKeeper) token(ctx context.Context) (string, error) {
	k.used.Store(time.Now().UnixNano())
	select {
	case <-k.ready:
	default:
		t := time.NewTimer(vertexTokenWait)
		defer t.Stop()
		select {
		case <-k.ready:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	if tok := k.tok.Load(); tok != nil && tok.Valid() {
		return tok.AccessToken, nil
	}
	if f := k.failure.Load(); f != nil {
		return "", errors.New(*f)
	}
	return "", errors.New("vertex credentials: no access token yet")
}

// vertexHeaders are LiteLLM's _base_vertex_proxy_route's changes: the
// target path (construct_target_url with the credentials' project and
// location), ?alt=sse on a stream, and Authorization: Bearer <token>.
func vertexHeaders(ctx context.Context, ep *config.PassThroughEndpoint, h map[string]string, body []byte) ([][2]string, []string, *translator.Error) {
	tok, err := vertexKeeperFor(ep.Vertex.Credentials, slog.Default()).token(ctx)
	if err != nil {
		return nil, nil, &translator.Error{Status: 500, Type: "internal_server_error", Message: "Vertex AI pass-through: " + err.Error()}
	}
	raw := h[":path"]
	prefix := ep.Path
	rest, query, _ := strings.Cut(strings.TrimPrefix(raw, prefix), "?")
	target := vertexTargetPath(rest, ep.Vertex.Project, ep.Vertex.Location)
	if vertexStreaming(target, body) && !hasQueryParam(query, "alt") {
		if query != "" {
			query += "&"
		}
		query += "alt=sse"
	}
	path := prefix + target
	if query != "" {
		path += "?" + query
	}
	return [][2]string{{":path", path}, {"authorization", "Bearer " + tok}}, nil, nil
}

var vertexProjectLocation = regexp.MustCompile(`/projects/[^/]+/locations/[^/]+/`)

// vertexTargetPath is LiteLLM's construct_target_url path: a route naming
// a location has its project and location replaced (and /v1 or /v1beta1 put
// before a bare /projects/…); another gets /{version}/projects/{project}/
// locations/{location} in front (v1beta1 for cachedContent routes, or the
// version the route starts with).
func vertexTargetPath(route, project, location string) string {
	if !strings.HasPrefix(route, "/") {
		route = "/" + route
	}
	version := "v1"
	if strings.Contains(route, "cachedContent") {
		version = "v1beta1"
	}
	if strings.Contains(route, "locations") {
		route = vertexProjectLocation.ReplaceAllLiteralString(route, "/projects/"+project+"/locations/"+location+"/")
		if strings.HasPrefix(route, "/projects/") {
			route = "/" + version + route
		}
		return route
	}
	if r, ok := strings.CutPrefix(route, "/v1/"); ok {
		version, route = "v1", "/"+r
	} else if r, ok := strings.CutPrefix(route, "/v1beta1/"); ok {
		version, route = "v1beta1", "/"+r
	}
	return "/" + version + "/projects/" + project + "/locations/" + location + route
}

// vertexStreaming is LiteLLM's check: a rawPredict call streams when its
// body says so, any other when its URL says "stream".
func vertexStreaming(path string, body []byte) bool {
	if strings.Contains(path, ":rawPredict") || strings.Contains(path, ":streamRawPredict") {
		var b struct {
			Stream bool `json:"stream"`
		}
		return json.Unmarshal(body, &b) == nil && b.Stream
	}
	return strings.Contains(path, "stream")
}

func hasQueryParam(query, name string) bool {
	q, err := url.ParseQuery(query)
	return err == nil && q.Has(name)
}

// --- Bedrock ---

// bedrockDirect: a /bedrock/model/{model}/… call whose model no model_list
// group serves goes to Bedrock itself when the direct route is configured,
// as LiteLLM's bedrock_llm_proxy_route does (is_passthrough_request_using_router_model).
func bedrockDirect(st *State, model, path string) bool {
	ep := st.Cfg.General.PassThroughAuth(path)
	if ep == nil || ep.AWS == nil {
		return false
	}
	_, err := st.Router.Resolve(model)
	return err != nil
}

// awsChainWait bounds how long a request waits for the default chain's
// credentials when the keeper has none cached (the gateway just started,
// or the source failed).
const awsChainWait = 10 * time.Second

// awsChains are the default credential chains of the /bedrock routes, by
// region and profile, each kept warm off the request path (keepWarm): a
// request reads the SDK's cache.
var awsChains sync.Map // region "\x00" profile → aws.CredentialsProvider

// awsChainFor is the chain of a /bedrock route without keys (started, and
// kept warm, at its first call: StartCloudPass when the config is applied).
func awsChainFor(a *config.AWSPassThrough) aws.CredentialsProvider {
	key := a.Region + "\x00" + a.Profile
	if c, ok := awsChains.Load(key); ok {
		return c.(aws.CredentialsProvider)
	}
	c, loaded := awsChains.LoadOrStore(key, awscreds.Chain(a.Region, a.Profile))
	p := c.(aws.CredentialsProvider)
	if !loaded {
		keepWarm(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, _ = p.Retrieve(ctx)
		})
	}
	return p
}

// bedrockSigned are the client's headers a Bedrock pass-through signature
// covers besides host and the x-amz-* the signer adds: those Envoy passes
// unchanged and Bedrock reads.
func bedrockSignedHeader(name string) bool {
	return name == "content-type" || strings.HasPrefix(name, "x-amzn-bedrock-") ||
		strings.HasPrefix(name, "x-amz-") && name != "x-amz-date" && name != "x-amz-security-token" && name != "x-amz-content-sha256"
}

// bedrockHeaders signs the request as Bedrock will see it (LiteLLM signs a
// direct Bedrock call with the environment's credentials): the target's
// host and path, the client's query, its content type and body, with
// aws-sdk-go-v2's SigV4 signer for the bedrock service.
func bedrockHeaders(ep *config.PassThroughEndpoint, h map[string]string, body []byte, now time.Time) ([][2]string, []string, *translator.Error) {
	a := ep.AWS
	rest, query, _ := strings.Cut(strings.TrimPrefix(h[":path"], ep.Path), "?")
	path := strings.TrimRight(ep.Target.EscapedPath(), "/") + rest
	u := &url.URL{Scheme: ep.Target.Scheme, Host: ep.Target.Host, RawQuery: query}
	if p, err := url.PathUnescape(path); err == nil {
		u.Path, u.RawPath = p, path
	} else {
		return nil, nil, &translator.Error{Status: 400, Type: "invalid_request_error", Message: "Bedrock pass-through: the path is not a valid URL path"}
	}
	req := &http.Request{Method: h[":method"], URL: u, Host: ep.Target.Host, Header: http.Header{}}
	for name, v := range h {
		if bedrockSignedHeader(name) {
			req.Header.Set(name, v)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey, SessionToken: a.SessionToken}
	if a.Chain {
		ctx, cancel := context.WithTimeout(context.Background(), awsChainWait)
		c, err := awsChainFor(a).Retrieve(ctx)
		cancel()
		if err != nil || !c.HasKeys() {
			// The SDK's error is not quoted: the answer names the sources only.
			return nil, nil, &translator.Error{Status: 500, Type: "internal_server_error", Message: "Bedrock pass-through: no AWS credentials " +
				"from the default chain (environment, shared credentials profile, web identity, container or instance role)"}
		}
		creds = c
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "bedrock", a.Region, now); err != nil {
		return nil, nil, &translator.Error{Status: 500, Type: "internal_server_error", Message: "Bedrock pass-through: the request could not be signed"}
	}
	set := [][2]string{{"authorization", req.Header.Get("Authorization")}, {"x-amz-date", req.Header.Get("X-Amz-Date")}}
	remove := []string{"x-amz-content-sha256"}
	if t := req.Header.Get("X-Amz-Security-Token"); t != "" {
		set = append(set, [2]string{"x-amz-security-token", t})
	} else {
		remove = append(remove, "x-amz-security-token")
	}
	return set, remove, nil
}
