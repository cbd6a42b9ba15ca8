package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// The deployments' default_api_key_rpm_limit / default_api_key_tpm_limit on
// keyless callers (D136): LiteLLM's v3 limiter counts the master key under
// its alias (model_per_key "litellm_proxy_master_key:<group>", one bucket
// for every master-key caller) and a JWT under its hash ("hashed-jwt-<sha256
// of the token>:<group>", one bucket per token). Through Envoy on both
// request filters: the third request in a UTC minute is refused with
// LiteLLM's 429 and retry-after, another JWT is served; once a first answer's
// tokens are counted, default_api_key_tpm_limit refuses the caller.
func TestCallerModelDefaultLimits(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	idp := startIDP(t)
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt-lim
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: sk-provider, default_api_key_rpm_limit: 2}
  - model_name: gpt-tok
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: sk-provider, default_api_key_tpm_limit: 5}
general_settings:
  master_key: %[2]s
  proxy_batch_write_at: 1
  enable_jwt_auth: true
  litellm_jwtauth:
    team_id_jwt_field: team
    user_id_jwt_field: sub
    user_id_upsert: true
`, fake.URL(), master)
	jwtCaller := func(tok string) string {
		sum := sha256.Sum256([]byte(tok))
		return "hashed-jwt-" + hex.EncodeToString(sum[:])
	}
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, cfg, mode.args, "LLMGATE_DATA_DIR="+t.TempDir(), "JWT_PUBLIC_KEY_URL="+idp.url)
			if st, _, b := post(t, g.URL+"/team/new", master, `{"team_id":"jwt-team"}`); st != 200 {
				t.Fatalf("/team/new: %d %s", st, b)
			}
			tokA := idp.token(idp.key, jwt.MapClaims{"sub": "user-a", "team": "jwt-team"})
			tokB := idp.token(idp.key, jwt.MapClaims{"sub": "user-b", "team": "jwt-team"})
			tokT := idp.token(idp.key, jwt.MapClaims{"sub": "user-t", "team": "jwt-team"})
			callers := []struct{ what, key, name string }{
				{"the master key", master, "litellm_proxy_master_key"},
				{"a JWT", tokA, jwtCaller(tokA)},
			}
			for try := 0; ; try++ {
				waitForMinuteLeft(20 * time.Second)
				minute := time.Now().UTC().Truncate(time.Minute)
				type third struct {
					st int
					h  map[string][]string
					b  []byte
				}
				var got []third
				for _, c := range callers {
					for i := 0; i < 2; i++ {
						if st, _, b := post(t, g.URL+"/v1/chat/completions", c.key, chatBody("gpt-lim", "within")); st != 200 {
							t.Fatalf("%s: request %d within the default rpm: %d %s", c.what, i+1, st, b)
						}
					}
					st, h, b := post(t, g.URL+"/v1/chat/completions", c.key, chatBody("gpt-lim", "third"))
					got = append(got, third{st, h, b})
				}
				if time.Now().UTC().Truncate(time.Minute) != minute && try == 0 {
					continue // the minute turned: count again (the second try's minute is new)
				}
				for i, c := range callers {
					wantErrorPrefix(t, c.what+"'s third request to gpt-lim in a minute", got[i].st, got[i].b, 429, "rate_limit_error",
						"Rate limit exceeded for model_per_key: "+c.name+":gpt-lim. Limit type: requests. Current limit: 2, Remaining: 0.")
					if len(got[i].h["Retry-After"]) == 0 {
						t.Errorf("%s: the refusal has no retry-after", c.what)
					}
				}
				if st, _, b := post(t, g.URL+"/v1/chat/completions", tokB, chatBody("gpt-lim", "another token")); st != 200 {
					t.Errorf("another JWT on gpt-lim (its own bucket): %d %s", st, b)
				}
				break
			}

			waitForMinuteLeft(20 * time.Second)
			for _, c := range []struct{ what, key, name string }{{"the master key", master, "litellm_proxy_master_key"}, {"a JWT", tokT, jwtCaller(tokT)}} {
				if st, _, b := post(t, g.URL+"/v1/chat/completions", c.key, chatBody("gpt-tok", "first")); st != 200 {
					t.Fatalf("%s: the first request under the default tpm: %d %s", c.what, st, b)
				}
				var st int
				var b []byte
				for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
					st, _, b = post(t, g.URL+"/v1/chat/completions", c.key, chatBody("gpt-tok", "more"))
					if st != 200 || time.Now().After(deadline) {
						break
					}
				}
				wantErrorPrefix(t, c.what+" over gpt-tok's default tpm", st, b, 429, "rate_limit_error",
					"Rate limit exceeded for model_per_key: "+c.name+":gpt-tok. Limit type: tokens. Current limit: 5, Remaining: 0.")
			}
		})
	}
}
