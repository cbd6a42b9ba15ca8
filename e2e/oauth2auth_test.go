package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestOAuth2Auth (D118): enable_oauth2_auth through Envoy on both request
// filters with openai-go, against an RFC 7662 introspection endpoint on
// 127.0.0.1 that checks the client's Basic credentials: an active token is
// served and its spend reaches the answer's team; the endpoint is asked
// once for five requests with it (the answer is remembered); an inactive
// token gets LiteLLM's 401; the token is not accepted on a management route
// (LiteLLM checks it on the LLM and info routes only); the master key is
// still served.
func TestOAuth2Auth(t *testing.T) {
	var calls atomic.Int64
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "llmgate-client" || p != "client-secret" || r.Method != http.MethodPost ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.PostFormValue("token") {
		case "good-token":
			_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "sub": "oa-user", "team_id": "oa-team", "role": "internal_user",
				"exp": time.Now().Add(time.Hour).Unix(), "client_id": "app"})
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"active": false})
		}
	}))
	t.Cleanup(idp.Close)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			calls.Store(0)
			g := startGatewayArgs(t, keysConfig(fake.URL(), "")+"  enable_oauth2_auth: true\n", mode.args,
				"LLMGATE_DATA_DIR="+t.TempDir(), "OAUTH_TOKEN_INFO_ENDPOINT="+idp.URL+"/oauth2/introspect",
				"OAUTH_CLIENT_ID=llmgate-client", "OAUTH_CLIENT_SECRET=client-secret")
			if st, _, b := post(t, g.URL+"/team/new", master, `{"team_id":"oa-team"}`); st != 200 {
				t.Fatalf("/team/new: %d %s", st, b)
			}
			chat := func(tok string) error {
				client := newClient(g, tok)
				_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: "gpt-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello oauth2")}})
				return err
			}
			for i := 0; i < 5; i++ {
				if err := chat("good-token"); err != nil {
					t.Fatalf("request %d with an active token: %v", i+1, err)
				}
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("the endpoint was asked %d times for five requests with one token, want 1", n)
			}
			err := chat("revoked-token")
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Type != "auth_error" ||
				apiErr.Message != "Authentication Error, An error occurred during token validation: Token is not active" {
				t.Errorf("an inactive token: %v", err)
			}
			st, _, b := post(t, g.URL+"/team/new", "good-token", `{"team_id":"x"}`)
			wantErrorPrefix(t, "the token on a management route", st, b, 401, "auth_error", "Authentication Error, Invalid proxy server token passed.")
			if err := chat(master); err != nil {
				t.Errorf("the master key: %v", err)
			}
			// The spend reaches the answer's team.
			deadline := time.Now().Add(10 * time.Second)
			for {
				st, _, b := do(t, "GET", g.URL+"/team/info?team_id=oa-team", master, "")
				var info struct {
					TeamInfo struct {
						Spend float64 `json:"spend"`
					} `json:"team_info"`
				}
				_ = json.Unmarshal(b, &info)
				if st == 200 && info.TeamInfo.Spend > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the team's spend after the token's requests: %d %s", st, b)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if strings.Contains(g.Logs(), "good-token") {
				t.Errorf("the token is in the logs")
			}
		})
	}
}
