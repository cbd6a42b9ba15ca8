package e2e

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// TestLiteLLMDatabase: llmgate pointed (database_url) at a database LiteLLM
// made — every table of LiteLLM's schema.prisma as Prisma creates it, with
// its foreign keys (internal/keystore/testdata/litellm_schema.sql), and rows
// as LiteLLM writes them, among them a store_model_in_db deployment whose
// litellm_params LiteLLM encrypted (litellm_fixture.sql) — serves LiteLLM's
// keys and its deployment (the provider key LiteLLM encrypted reaches the
// provider), refuses its blocked key, adds spend to LiteLLM's rows and
// spend logs, issues keys into its team, and writes deployments LiteLLM's
// schema holds (encrypted as LiteLLM reads them: internal/keys
// TestEncryptionAgainstLiteLLM).
func TestLiteLLMDatabase(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	for _, f := range []string{"litellm_schema.sql", "litellm_fixture.sql"} {
		b, err := os.ReadFile("../internal/keystore/testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		pg.Exec(t, url, strings.ReplaceAll(string(b), "{{API_BASE}}", fake.URL()+"/v1"))
	}
	cfg := modelsConfig(fake.URL(), url) + "  proxy_batch_write_at: 1\n"
	g := startGateway(t, cfg, "LITELLM_SALT_KEY=sk-fixture-salt")
	k := keyAPI{t, g}
	const litellmKey = "sk-litellm-fixture-key"

	fake.Reset()
	if st, e, _ := k.chat(litellmKey, "fixture-gpt"); st != 200 {
		t.Fatalf("LiteLLM's key on LiteLLM's stored deployment: %d %v", st, e)
	}
	last, ok := fake.Last()
	if !ok || last.Header.Get("Authorization") != "Bearer sk-provider-from-litellm" || !strings.Contains(string(last.Body), `"model":"gpt-4o"`) {
		t.Fatalf("the provider got %v %s, want LiteLLM's decrypted api_key and model", last.Header, last.Body)
	}
	if st, e, _ := k.chat(litellmKey, "gpt-x"); st != 401 || e["type"] != "key_model_access_denied" {
		t.Fatalf("LiteLLM's key outside its models: %d %v", st, e)
	}
	if st, e, _ := k.chat("sk-litellm-blocked-key", "fixture-gpt"); st != 401 || !strings.Contains(e["message"].(string), "blocked") {
		t.Fatalf("LiteLLM's blocked key: %d %v", st, e)
	}
	// Spend lands on LiteLLM's rows, on top of what LiteLLM counted.
	spendOf := func() float64 {
		v, _ := strconv.ParseFloat(pg.Exec(t, url, `SELECT spend FROM "LiteLLM_VerificationToken" WHERE key_alias = 'fixture'`), 64)
		return v
	}
	deadline := time.Now().Add(10 * time.Second)
	for spendOf() <= 1.5 {
		if time.Now().After(deadline) {
			t.Fatalf("the key's spend stayed at %v", spendOf())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for q, want := range map[string]string{
		`SELECT (spend > 2)::text FROM "LiteLLM_TeamTable" WHERE team_id = 'fixture-team'`:                                "true",
		`SELECT (spend > 0.25)::text FROM "LiteLLM_TeamMembership" WHERE user_id = 'fixture-user'`:                        "true",
		`SELECT count(*) FROM "LiteLLM_SpendLogs" WHERE api_key = encode(sha256('sk-litellm-fixture-key'::bytea), 'hex')`: "1",
	} {
		if got := pg.Exec(t, url, q); got != want {
			t.Errorf("%s: %q, want %q", q, got, want)
		}
	}
	// Keys issued into LiteLLM's team work on the team's models.
	nk, _ := k.generate(`{"team_id":"fixture-team","user_id":"fixture-user"}`)
	if st, e, _ := k.chat(nk, "fixture-gpt"); st != 200 {
		t.Fatalf("a key llmgate issued into LiteLLM's team: %d %v", st, e)
	}
	// A deployment llmgate stores: LiteLLM's row shape, params encrypted
	// under the same salt key LiteLLM uses.
	st, m := k.call("POST", "/model/new", master, `{"model_name":"llmgate-db","litellm_params":{"model":"openai/gpt-4o-mini","api_base":"`+fake.URL()+`/v1","api_key":"sk-from-llmgate"},"model_info":{"id":"llmgate-db-1"}}`)
	if st != 200 {
		t.Fatalf("/model/new: %d %v", st, m)
	}
	var params map[string]string
	if err := json.Unmarshal([]byte(pg.Exec(t, url, `SELECT litellm_params FROM "LiteLLM_ProxyModelTable" WHERE model_id = 'llmgate-db-1'`)), &params); err != nil {
		t.Fatal(err)
	}
	if v, ok := keys.DecryptValue(params["api_key"], "sk-fixture-salt"); !ok || v != "sk-from-llmgate" {
		t.Fatalf("stored api_key %q opens as %q (%v)", params["api_key"], v, ok)
	}
	if by := pg.Exec(t, url, `SELECT created_by <> '' AND updated_by <> '' FROM "LiteLLM_ProxyModelTable" WHERE model_id = 'llmgate-db-1'`); by != "t" {
		t.Errorf("created_by/updated_by of the stored deployment: %q", by)
	}
}
