package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// TestMasterKeySpendLogs: with general_settings.database_url, LiteLLM writes
// a LiteLLM_SpendLogs row for every request, the master key's too, under its
// alias litellm_proxy_master_key and the proxy admin's user default_user_id
// (user_api_key_auth, D128); /global/spend/keys counts it. Without a
// database the master key's successes stay unlogged (D124's quiet path).
// Both request filters; openai-go through the real Envoy (D136).
func TestMasterKeySpendLogs(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	idp := startIDP(t)
	for _, c := range []struct {
		name string
		args []string
	}{{"module", moduleArgs}, {"ext_proc", extProcArgs}} {
		t.Run(c.name+"/postgres", func(t *testing.T) {
			g := startGatewayArgs(t, keysConfig(fake.URL(), pg.NewDatabase(t))+`  enable_jwt_auth: true
  litellm_jwtauth:
    team_id_jwt_field: team
    user_id_jwt_field: sub
    user_id_upsert: true
`, c.args, "LLMGATE_DATA_DIR="+t.TempDir(), "JWT_PUBLIC_KEY_URL="+idp.url)
			client := newClient(g, master)
			type sent struct {
				id   string
				cost float64
			}
			var all []sent
			for i := 0; i < 3; i++ {
				var raw *http.Response
				resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-x",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("master key spend")}}, option.WithResponseInto(&raw))
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, sent{raw.Header.Get("x-litellm-call-id"), 0.001*float64(resp.Usage.PromptTokens) + 0.002*float64(resp.Usage.CompletionTokens)})
			}
			var raw *http.Response
			st := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-x",
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a master key stream")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}}, option.WithResponseInto(&raw))
			var usage openai.CompletionUsage
			for st.Next() {
				if u := st.Current().Usage; u.TotalTokens > 0 {
					usage = u
				}
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
			if usage.TotalTokens == 0 {
				t.Fatal("the stream had no usage chunk")
			}
			all = append(all, sent{raw.Header.Get("x-litellm-call-id"), 0.001*float64(usage.PromptTokens) + 0.002*float64(usage.CompletionTokens)})

			total := 0.0
			for _, s := range all {
				if s.id == "" {
					t.Fatal("no x-litellm-call-id on the answer")
				}
				row := spendLogRow(t, g, s.id)
				var apiKey, user string
				var spend float64
				_ = json.Unmarshal(row["api_key"], &apiKey)
				_ = json.Unmarshal(row["user"], &user)
				_ = json.Unmarshal(row["spend"], &spend)
				if apiKey != "litellm_proxy_master_key" || user != "default_user_id" || math.Abs(spend-s.cost) > 1e-12 {
					t.Errorf("%s: api_key %q user %q spend %v, want litellm_proxy_master_key, default_user_id, %v", s.id, apiKey, user, spend, s.cost)
				}
				total += s.cost
			}
			// /global/spend/keys sums the spend logs by api_key.
			st2, _, b := do(t, "GET", g.URL+"/global/spend/keys", master, "")
			var rows []struct {
				APIKey     string  `json:"api_key"`
				TotalSpend float64 `json:"total_spend"`
			}
			if st2 != 200 || json.Unmarshal(b, &rows) != nil {
				t.Fatalf("/global/spend/keys: %d %s", st2, b)
			}
			found := false
			for _, r := range rows {
				if r.APIKey == "litellm_proxy_master_key" {
					found = true
					if math.Abs(r.TotalSpend-total) > 1e-9 {
						t.Errorf("/global/spend/keys: the master key's total_spend %v, want %v", r.TotalSpend, total)
					}
				}
			}
			if !found {
				t.Errorf("/global/spend/keys has no litellm_proxy_master_key row: %s", b)
			}

			// A JWT caller's row: api_key "hashed-jwt-<sha256 of the token>"
			// (LiteLLM's _safe_hash_litellm_api_key), its team and user.
			if st, _, b := post(t, g.URL+"/team/new", master, `{"team_id":"jwt-spend"}`); st != 200 {
				t.Fatalf("/team/new: %d %s", st, b)
			}
			tok := idp.token(idp.key, jwt.MapClaims{"sub": "jwt-user", "team": "jwt-spend"})
			st3, h, b3 := post(t, g.URL+"/v1/chat/completions", tok, chatBody("gpt-x", "a jwt's spend"))
			if st3 != 200 {
				t.Fatalf("a JWT's request: %d %s", st3, b3)
			}
			sum := sha256.Sum256([]byte(tok))
			row := spendLogRow(t, g, h.Get("x-litellm-call-id"))
			var apiKey, team, user string
			_ = json.Unmarshal(row["api_key"], &apiKey)
			_ = json.Unmarshal(row["team_id"], &team)
			_ = json.Unmarshal(row["user"], &user)
			if apiKey != "hashed-jwt-"+hex.EncodeToString(sum[:]) || team != "jwt-spend" || user != "jwt-user" {
				t.Errorf("a JWT's spend log: api_key %q team_id %q user %q, want hashed-jwt-<sha256>, jwt-spend, jwt-user", apiKey, team, user)
			}
		})
	}
	t.Run("module/embedded", func(t *testing.T) {
		// No database: the master key's requests write no spend log.
		g := startGatewayArgs(t, keysConfig(fake.URL(), ""), moduleArgs, "LLMGATE_DATA_DIR="+t.TempDir())
		var ids []string
		for i := 0; i < 3; i++ {
			var raw *http.Response
			client := newClient(g, master)
			if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-x",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("quiet master key")}}, option.WithResponseInto(&raw)); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, raw.Header.Get("x-litellm-call-id"))
		}
		// A virtual key's request after them: once its row is written,
		// rows of the requests before it would be too (batches in order).
		key, _ := keyAPI{t, g}.generate(`{"models":["gpt-x"]}`)
		var raw *http.Response
		kc := newClient(g, key)
		if _, err := kc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-x",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a key after")}}, option.WithResponseInto(&raw)); err != nil {
			t.Fatal(err)
		}
		spendLogRow(t, g, raw.Header.Get("x-litellm-call-id"))
		for _, id := range ids {
			st, _, b := do(t, "GET", g.URL+"/spend/logs?request_id="+id, master, "")
			var rows []map[string]any
			if st != 200 || json.Unmarshal(b, &rows) != nil || len(rows) != 0 {
				t.Errorf("/spend/logs?request_id=%s without a database: %d %s, want no row", id, st, b)
			}
		}
	})
}
