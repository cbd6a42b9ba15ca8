package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// testIDP is an identity provider for the JWT tests: a JWKS endpoint on
// 127.0.0.1 publishing one RSA key, and tokens signed RS256 with it.
type testIDP struct {
	t   *testing.T
	key *rsa.PrivateKey
	url string
}

func startIDP(t *testing.T) *testIDP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "e2e-1", Algorithm: "RS256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(srv.Close)
	return &testIDP{t: t, key: key, url: srv.URL + "/jwks"}
}

// token signs claims (with an hour's exp unless they set one) by key.
func (p *testIDP) token(key *rsa.PrivateKey, claims jwt.MapClaims) string {
	p.t.Helper()
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = time.Now().Add(time.Hour).Unix()
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "e2e-1"
	s, err := tok.SignedString(key)
	if err != nil {
		p.t.Fatal(err)
	}
	return s
}

// wantErrorPrefix asserts a reply's status, error type and message start.
func wantErrorPrefix(t *testing.T, what string, st int, b []byte, status int, typ, prefix string) {
	t.Helper()
	var m struct {
		Error struct{ Message, Type, Code string }
	}
	if err := json.Unmarshal(b, &m); err != nil || st != status || m.Error.Type != typ || !strings.HasPrefix(m.Error.Message, prefix) {
		t.Errorf("%s: %d %s, want %d %s %q…", what, st, b, status, typ, prefix)
	}
}

// enable_jwt_auth (D97) through Envoy on both request filters, with a JWKS
// server on 127.0.0.1: an admin token (scope litellm_proxy_admin) reaches
// the management routes and creates a team; a team token is refused there
// with LiteLLM's error, calls the team's model through openai-go, is
// refused another model and, once the team's budget is spent (the spend
// counted to the team), refused with budget_exceeded; expired and
// badly signed tokens are refused; in module mode a JWT request is handed
// to the ext_proc filter.
func TestJWTAuth(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	idp := startIDP(t)
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, keysConfig(fake.URL(), "")+`  enable_jwt_auth: true
  litellm_jwtauth:
    team_id_jwt_field: "resource_access.team"
    user_id_jwt_field: sub
    user_id_upsert: true
`, mode.args, "LLMGATE_DATA_DIR="+t.TempDir(), "JWT_PUBLIC_KEY_URL="+idp.url)
			admin := idp.token(idp.key, jwt.MapClaims{"sub": "boss", "scope": "openid litellm_proxy_admin"})
			team := idp.token(idp.key, jwt.MapClaims{"sub": "dev-1", "resource_access": map[string]any{"team": "jwt-team"}})

			st, _, b := post(t, g.URL+"/team/new", admin, `{"team_id":"jwt-team","models":["gpt-x"],"max_budget":0.001}`)
			if st != 200 {
				t.Fatalf("/team/new with an admin token: %d %s", st, b)
			}
			st, _, b = post(t, g.URL+"/team/new", team, `{"team_id":"other-team"}`)
			wantErrorPrefix(t, "/team/new with a team token", st, b, 401, "auth_error",
				"Authentication Error, Team not allowed to access this route. Route=/team/new, Allowed Routes=['/engines/{model}/chat/completions'")
			st, _, b = post(t, g.URL+"/v1/chat/completions", admin, chatBody("gpt-x", "admin"))
			wantErrorPrefix(t, "a chat request with an admin token (not in admin_allowed_routes)", st, b, 401, "auth_error",
				"Authentication Error, Admin not allowed to access this route. Route=/v1/chat/completions, Allowed Routes=['/user/new'")

			before := requestFilterStreams(t, g)
			client := newClient(g, team)
			resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: "gpt-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello jwt")}})
			if err != nil || len(resp.Choices) == 0 {
				t.Fatalf("the team's model with a team token: %v", err)
			}
			if n := requestFilterStreams(t, g) - before; mode.name == "module" && n == 0 {
				t.Errorf("module mode: a JWT request opened no request-filter stream (not handed on)")
			}
			_, err = client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: "other", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello jwt")}})
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Type != "team_model_access_denied" ||
				!strings.HasPrefix(apiErr.Message, "Authentication Error, Team not allowed to access model. Team=jwt-team, Model=other.") {
				t.Errorf("a model outside the team's list: %v", err)
			}

			// The spend sink runs off the request path: the team's spend
			// reaches its budget within moments.
			deadline := time.Now().Add(10 * time.Second)
			for {
				st, _, b = post(t, g.URL+"/v1/chat/completions", team, chatBody("gpt-x", "spend"))
				if st != 200 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			wantErrorPrefix(t, "the team over its budget", st, b, 400, "budget_exceeded", "Budget has been exceeded! Team=jwt-team ")

			st, _, b = post(t, g.URL+"/v1/chat/completions", idp.token(idp.key, jwt.MapClaims{"sub": "dev-1",
				"resource_access": map[string]any{"team": "jwt-team"}, "exp": time.Now().Add(-time.Minute).Unix()}), chatBody("gpt-x", "expired"))
			wantError(t, "an expired token", st, b, 401, "auth_error", "Authentication Error, Token Expired")
			other, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			st, _, b = post(t, g.URL+"/v1/chat/completions", idp.token(other, jwt.MapClaims{"sub": "dev-1",
				"resource_access": map[string]any{"team": "jwt-team"}}), chatBody("gpt-x", "forged"))
			wantError(t, "a token signed by another key", st, b, 401, "auth_error", "Authentication Error, Validation fails: Signature verification failed")
			st, _, b = post(t, g.URL+"/v1/chat/completions", idp.token(idp.key, jwt.MapClaims{"sub": "dev-1"}), chatBody("gpt-x", "no team"))
			wantError(t, "a token without the team claim", st, b, 401, "auth_error", "Authentication Error, No team id found in token. Checked team_id field 'resource_access.team'")
		})
	}
}

// allowed_routes and admin_only_routes (D97) for virtual keys, through
// Envoy on both request filters: a route outside allowed_routes is refused
// to every caller with LiteLLM's 403; an admin_only_routes route is
// refused to a virtual key and served to the master key.
func TestRouteSettings(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, keysConfig(fake.URL(), "")+`  allowed_routes: ["/v1/chat/completions", "/chat/completions", "LiteLLMRoutes.management_routes"]
  admin_only_routes: ["/chat/completions"]
`, mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			k := keyAPI{t, g}
			key, _ := k.generate(`{"models":["gpt-x"]}`)
			if st, _, b := post(t, g.URL+"/v1/chat/completions", key, chatBody("gpt-x", "allowed")); st != 200 {
				t.Fatalf("an allowed route with a virtual key: %d %s", st, b)
			}
			st, _, b := post(t, g.URL+"/v1/embeddings", key, `{"model":"gpt-x","input":"x"}`)
			wantError(t, "a route outside allowed_routes, virtual key", st, b, 403, "auth_error", "Access forbidden: Route /v1/embeddings not allowed")
			st, _, b = post(t, g.URL+"/v1/embeddings", master, `{"model":"gpt-x","input":"x"}`)
			wantError(t, "a route outside allowed_routes, master key", st, b, 403, "auth_error", "Access forbidden: Route /v1/embeddings not allowed")
			st, _, b = post(t, g.URL+"/chat/completions", key, chatBody("gpt-x", "admin only"))
			wantError(t, "an admin_only_routes route, virtual key", st, b, 403, "auth_error", "user not allowed to access this route. Route=/chat/completions is an admin only route")
			if st, _, b := post(t, g.URL+"/chat/completions", master, chatBody("gpt-x", "admin only")); st != 200 {
				t.Fatalf("an admin_only_routes route with the master key: %d %s", st, b)
			}
		})
	}
}

// A context-window fallback's replay (an internal redirect) counts its
// spend to the first pass's team — a JWT caller's team (it has no key to
// find the team by) and a virtual key's team — and to the key (D97), on
// both request filters.
func TestFallbackReplaySpendToTeam(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	idp := startIDP(t)
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/cw/"},
		Fault: fakeprovider.Fault{ErrorMessage: "This model's maximum context length is 10 tokens. However, your messages resulted in 25 tokens."}}))
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: cw
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cw/v1, api_key: k}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: cw-big
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cw-big/v1, api_key: k}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
router_settings:
  context_window_fallbacks: [{"cw": ["cw-big"]}]
general_settings:
  master_key: %[2]s
  proxy_batch_write_at: 1
  enable_jwt_auth: true
  litellm_jwtauth: {team_id_jwt_field: team}
`, fake.URL(), master), mode.args, "LLMGATE_DATA_DIR="+t.TempDir(), "JWT_PUBLIC_KEY_URL="+idp.url)
			k := keyAPI{t, g}
			for _, team := range []string{"jwt-fb", "key-fb"} {
				if st, m := k.call("POST", "/team/new", master, `{"team_id":"`+team+`"}`); st != 200 {
					t.Fatalf("/team/new: %d %v", st, m)
				}
			}
			key, _ := k.generate(`{"team_id":"key-fb"}`)
			for _, c := range []struct{ team, key string }{{"jwt-fb", idp.token(idp.key, jwt.MapClaims{"team": "jwt-fb"})}, {"key-fb", key}} {
				st, h, b := post(t, g.URL+"/v1/chat/completions", c.key, chatBody("cw", "too long"))
				if r := (reply{code: st, hdr: h}); st != 200 || r.servedBy() != "/cw-big" {
					t.Fatalf("%s: %d from %q: %s", c.team, st, r.servedBy(), b)
				}
				deadline := time.Now().Add(10 * time.Second)
				var spend float64
				for time.Now().Before(deadline) {
					_, info := k.call("GET", "/team/info?team_id="+c.team, master, "")
					spend, _ = info["team_info"].(map[string]any)["spend"].(float64)
					if spend > 0 {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if spend <= 0 {
					t.Errorf("%s: the team's spend after a fallback's replay is %v, want > 0", c.team, spend)
				}
			}
			if s := k.spend(key); s <= 0 {
				t.Errorf("the key's spend after a fallback's replay is %v, want > 0", s)
			}
		})
	}
}

// postHeaders posts body to url with headers and no key.
func postHeaders(t *testing.T, url, body string, headers map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, []byte(b.String())
}

// enable_oauth2_proxy_auth with oauth2_config_mappings (D97), through Envoy
// on both request filters: the caller is whoever the OAuth2 proxy's headers
// say, with no key (as LiteLLM's handle_oauth2_proxy_request): a
// proxy_admin role reaches the management routes, another caller does not,
// and its requests' spend counts to the team its header names.
func TestOAuth2ProxyAuth(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, keysConfig(fake.URL(), "")+`  enable_oauth2_proxy_auth: true
  oauth2_config_mappings:
    user_id: X-Auth-Request-User
    team_id: X-Auth-Request-Team
    user_role: X-Auth-Request-Role
`, mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			admin := map[string]string{"X-Auth-Request-User": "boss", "X-Auth-Request-Role": "proxy_admin"}
			user := map[string]string{"X-Auth-Request-User": "dev", "X-Auth-Request-Team": "proxy-team"}
			if st, b := postHeaders(t, g.URL+"/team/new", `{"team_id":"proxy-team"}`, admin); st != 200 {
				t.Fatalf("/team/new as proxy_admin: %d %s", st, b)
			}
			st, b := postHeaders(t, g.URL+"/team/new", `{"team_id":"other"}`, user)
			wantErrorPrefix(t, "/team/new as a user", st, b, 401, "auth_error", "Authentication Error, Only proxy admin can be used")
			if st, b := postHeaders(t, g.URL+"/v1/chat/completions", chatBody("gpt-x", "via the proxy"), user); st != 200 {
				t.Fatalf("a chat request with the proxy's headers: %d %s", st, b)
			}
			deadline := time.Now().Add(10 * time.Second)
			var spend float64
			for time.Now().Before(deadline) && spend <= 0 {
				time.Sleep(100 * time.Millisecond)
				req, _ := http.NewRequest("GET", g.URL+"/team/info?team_id=proxy-team", nil)
				for k, v := range admin {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&m)
				resp.Body.Close()
				ti, _ := m["team_info"].(map[string]any)
				spend, _ = ti["spend"].(float64)
			}
			if spend <= 0 {
				t.Errorf("the team named by the proxy's header: spend %v, want > 0", spend)
			}
		})
	}
}
