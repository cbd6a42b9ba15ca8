package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// A JWT caller's team and user limits and user_id_upsert (D109), through
// Envoy on both request filters with openai-go: a team's rpm_limit refuses
// its token's third request in a minute with LiteLLM's 429 (retry-after
// set); a team's tpm_limit refuses once a response's tokens are counted to
// the team; a token naming a user the store does not know (user_id_upsert)
// creates the user's row, which /user/info shows with the request's spend.
func TestJWTLimits(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	idp := startIDP(t)
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, keysConfig(fake.URL(), "")+`  enable_jwt_auth: true
  litellm_jwtauth:
    team_id_jwt_field: team
    user_id_jwt_field: sub
    user_id_upsert: true
`, mode.args, "LLMGATE_DATA_DIR="+t.TempDir(), "JWT_PUBLIC_KEY_URL="+idp.url)
			for _, body := range []string{`{"team_id":"jwt-rpm","rpm_limit":2}`, `{"team_id":"jwt-tpm","tpm_limit":5}`} {
				if st, _, b := post(t, g.URL+"/team/new", master, body); st != 200 {
					t.Fatalf("/team/new %s: %d %s", body, st, b)
				}
			}
			chat := func(tok string) error {
				client := newClient(g, tok)
				_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: "gpt-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello jwt limits")}})
				return err
			}

			// rpm: the team's third request in one UTC minute is refused.
			rpmTok := idp.token(idp.key, jwt.MapClaims{"sub": "rpm-user", "team": "jwt-rpm"})
			for try := 0; ; try++ {
				waitForMinuteLeft(15 * time.Second)
				minute := time.Now().UTC().Truncate(time.Minute)
				for i := 0; i < 2; i++ {
					if err := chat(rpmTok); err != nil {
						t.Fatalf("request %d within the team's rpm_limit: %v", i+1, err)
					}
				}
				st, h, b := post(t, g.URL+"/v1/chat/completions", rpmTok, chatBody("gpt-x", "third"))
				if time.Now().UTC().Truncate(time.Minute) != minute && try == 0 {
					continue // the minute turned: count again
				}
				wantErrorPrefix(t, "the team's third request in a minute", st, b, 429, "rate_limit_error",
					"LiteLLM Rate Limit Handler for rate limit type = team. Crossed TPM / RPM / Max Parallel Request Limit. current rpm: 2, rpm limit: 2, team=jwt-rpm")
				if h.Get("retry-after") == "" {
					t.Errorf("the rpm refusal has no retry-after")
				}
				break
			}

			// tpm: once the first answer's tokens reach the team's counter
			// (the spend sink, off the request path), the team is refused.
			waitForMinuteLeft(20 * time.Second)
			tpmTok := idp.token(idp.key, jwt.MapClaims{"sub": "tpm-user", "team": "jwt-tpm"})
			if err := chat(tpmTok); err != nil {
				t.Fatalf("the first request under the team's tpm_limit: %v", err)
			}
			deadline := time.Now().Add(10 * time.Second)
			var err error
			for {
				err = chat(tpmTok)
				if err != nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type != "rate_limit_error" ||
				!strings.HasPrefix(apiErr.Message, "LiteLLM Rate Limit Handler for rate limit type = team. Crossed TPM / RPM / Max Parallel Request Limit. current tpm: ") {
				t.Errorf("the team over its tpm_limit: %v", err)
			}

			// user_id_upsert: the unknown user's row is created and its
			// spend kept ("tpm-user" was created the same way above).
			deadline = time.Now().Add(10 * time.Second)
			for {
				st, _, b := do(t, "GET", g.URL+"/user/info?user_id=tpm-user", master, "")
				var info struct {
					UserID   string `json:"user_id"`
					UserInfo struct {
						Spend float64 `json:"spend"`
					} `json:"user_info"`
				}
				_ = json.Unmarshal(b, &info)
				if st == 200 && info.UserInfo.Spend > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("/user/info of the upserted user: %d %s", st, b)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
