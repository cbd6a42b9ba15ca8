package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestJWTParallelLimit (D118): a JWT caller's team's and user's
// max_parallel_requests, through Envoy on both request filters with
// openai-go: while one request of the team (of the user) is in flight,
// another gets LiteLLM's 429 "… current max_parallel_requests: 1 …"; once it
// ended, the slot is back (three requests in a row are served), and a
// failed answer gives its slot back too.
func TestJWTParallelLimit(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	slow := fakeprovider.Rule{Match: fakeprovider.Match{Model: "gpt-4o-mini"}, Fault: fakeprovider.Fault{Delay: 1500 * time.Millisecond}}
	idp := startIDP(t)
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			fake.ClearRules()
			if err := fake.AddRule(slow); err != nil {
				t.Fatal(err)
			}
			g := startGatewayArgs(t, keysConfig(fake.URL(), "")+`  enable_jwt_auth: true
  litellm_jwtauth:
    team_id_jwt_field: team
    user_id_jwt_field: sub
    user_id_upsert: true
`, mode.args, "LLMGATE_DATA_DIR="+t.TempDir(), "JWT_PUBLIC_KEY_URL="+idp.url)
			for _, c := range []struct{ route, body string }{
				{"/team/new", `{"team_id":"jwt-par","max_parallel_requests":1}`},
				{"/team/new", `{"team_id":"jwt-free"}`},
				{"/user/new", `{"user_id":"par-user","max_parallel_requests":1}`},
			} {
				if st, _, b := post(t, g.URL+c.route, master, c.body); st != 200 {
					t.Fatalf("%s %s: %d %s", c.route, c.body, st, b)
				}
			}
			chat := func(tok, model string) error {
				client := newClient(g, tok)
				_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello jwt parallel")}})
				return err
			}
			for _, c := range []struct {
				name, kind string
				claims     jwt.MapClaims
			}{
				{"team", "team=jwt-par", jwt.MapClaims{"sub": "someone", "team": "jwt-par"}},
				{"user", "user=par-user", jwt.MapClaims{"sub": "par-user", "team": "jwt-free"}},
			} {
				tok := idp.token(idp.key, c.claims)
				done := make(chan error, 1)
				go func() { done <- chat(tok, "other") }()
				time.Sleep(500 * time.Millisecond) // the slow request is in flight
				err := chat(tok, "gpt-x")
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type != "rate_limit_error" ||
					!strings.Contains(apiErr.Message, "current max_parallel_requests: 1, max_parallel_requests limit: 1, "+c.kind) {
					t.Fatalf("%s: a second request while one is in flight: %v", c.name, err)
				}
				if err := <-done; err != nil {
					t.Fatalf("%s: the slow request: %v", c.name, err)
				}
				for i := 0; i < 3; i++ {
					if err := chat(tok, "gpt-x"); err != nil {
						t.Fatalf("%s: request %d after the slow one ended: %v", c.name, i, err)
					}
				}
			}
			// A failed answer releases the team's slot too.
			tok := idp.token(idp.key, jwt.MapClaims{"sub": "someone", "team": "jwt-par"})
			if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{Model: "gpt-4o"}, Fault: fakeprovider.Fault{Status: 400, ErrorMessage: "bad"}}); err != nil {
				t.Fatal(err)
			}
			if err := chat(tok, "gpt-x"); err == nil {
				t.Fatal("the faulted request was served")
			}
			fake.ClearRules()
			if err := chat(tok, "gpt-x"); err != nil {
				t.Fatalf("after a failed answer: %v", err)
			}
		})
	}
}
