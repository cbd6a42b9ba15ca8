package keystore

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// LiteLLMDatabase creates, in url, LiteLLM's tables as Prisma creates them
// (testdata/litellm_schema.sql, generated from its schema.prisma) and the
// rows of testdata/litellm_fixture.sql, with apiBase as the fixture
// deployment's api_base. dir is this package's directory (the e2e tests
// pass theirs).
func LiteLLMDatabase(t testing.TB, srv *pgtest.Server, url, dir, apiBase string) {
	t.Helper()
	schema, err := os.ReadFile(dir + "/testdata/litellm_schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := os.ReadFile(dir + "/testdata/litellm_fixture.sql")
	if err != nil {
		t.Fatal(err)
	}
	srv.Exec(t, url, string(schema))
	srv.Exec(t, url, strings.ReplaceAll(string(rows), "{{API_BASE}}", apiBase))
}

// An existing LiteLLM database (every table of its schema.prisma, with its
// foreign keys, and rows as LiteLLM writes them) keeps working: keys are
// found by the hash of the key, teams, users, memberships and budgets are
// read, spend grows on top of what LiteLLM counted, every write llmgate
// makes satisfies LiteLLM's constraints (NOT NULL, foreign keys, unique
// keys), and llmgate's migrations change none of LiteLLM's tables.
func TestPostgresExistingLiteLLMDatabase(t *testing.T) {
	srv := pgtest.Start(t)
	url := srv.NewDatabase(t)
	LiteLLMDatabase(t, srv, url, ".", "http://127.0.0.1:9/v1")
	columns := `SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name LIKE 'LiteLLM\_%'`
	before := srv.Exec(t, url, columns)
	ctx := context.Background()
	s, err := OpenPostgres(ctx, url)
	must(t, err)
	defer s.Close()
	if after := srv.Exec(t, url, columns); after != before {
		t.Fatalf("llmgate's migrations changed LiteLLM's tables: %s columns, then %s", before, after)
	}
	k, err := s.GetKey(ctx, HashKey("sk-litellm-fixture-key"))
	must(t, err)
	if k.KeyAlias != "fixture" || k.Spend != 1.5 || len(k.Models) != 1 || k.TeamID != "fixture-team" || k.UserID != "fixture-user" ||
		*k.MaxBudget != 10 || k.Metadata["source"] != "litellm" {
		t.Fatalf("LiteLLM key read as %+v", k)
	}
	if b, err := s.GetKey(ctx, HashKey("sk-litellm-blocked-key")); err != nil || !b.Blocked {
		t.Fatalf("blocked key: %+v %v", b, err)
	}
	tm, err := s.GetTeam(ctx, "fixture-team")
	must(t, err)
	if tm.Spend != 2 || len(tm.MembersWithRoles) != 1 || *tm.MaxBudget != 100 {
		t.Fatalf("team %+v", tm)
	}
	ms, err := s.ListMemberships(ctx)
	must(t, err)
	if len(ms) != 1 || ms[0].BudgetID != "fixture-member-budget" || ms[0].Spend != 0.25 {
		t.Fatalf("memberships %+v", ms)
	}
	models, err := s.ListModels(ctx)
	must(t, err)
	if len(models) != 1 || models[0].ModelName != "fixture-gpt" || !strings.HasPrefix(models[0].LitellmParams["api_key"].(string), "v2:gcm:") {
		t.Fatalf("models %+v", models)
	}

	// Writes, each against LiteLLM's constraints.
	now := time.Now().UTC()
	must(t, s.PutBudget(ctx, &Budget{BudgetID: "llmgate-budget", RPMLimit: ptr(int64(3)), CreatedAt: now, UpdatedAt: now}))
	must(t, s.PutUser(ctx, &User{UserID: "llmgate-user", UserRole: "internal_user", Teams: []string{"fixture-team"}, CreatedAt: now, UpdatedAt: now}))
	tm.Members = append(tm.Members, "llmgate-user")
	tm.MembersWithRoles = append(tm.MembersWithRoles, map[string]any{"role": "user", "user_id": "llmgate-user"})
	must(t, s.PutTeam(ctx, tm))
	must(t, s.PutMembership(ctx, &Membership{TeamID: "fixture-team", UserID: "llmgate-user", BudgetID: "llmgate-budget"}))
	nk := &Key{Token: HashKey("sk-made-by-llmgate"), KeyName: "sk-...gate", KeyAlias: "llmgate", Models: []string{"fixture-gpt"},
		TeamID: "fixture-team", UserID: "llmgate-user", BudgetID: "llmgate-budget", CreatedAt: now, UpdatedAt: now}
	must(t, s.PutKey(ctx, nk))
	must(t, s.PutModel(ctx, &ModelRow{ModelID: "llmgate-model", ModelName: "fixture-gpt", LitellmParams: map[string]any{"model": "sealed"},
		ModelInfo: map[string]any{"id": "llmgate-model"}, CreatedAt: now, UpdatedAt: now}))
	must(t, s.AddSpend(ctx, &Spend{BatchID: "b1",
		Keys: map[string]float64{k.Token: 0.5, nk.Token: 0.25}, KeyModels: map[string]map[string]float64{k.Token: {"fixture-gpt": 0.5}},
		Teams: map[string]float64{"fixture-team": 0.75}, Users: map[string]float64{"fixture-user": 0.5},
		Members: map[string]float64{MemberKey("fixture-team", "fixture-user"): 0.5},
		Logs: []SpendLog{{RequestID: "req-1", CallType: "acompletion", APIKey: k.Token, Spend: 0.5, TotalTokens: 30, PromptTokens: 10,
			CompletionTokens: 20, StartTime: now, EndTime: now, Model: "gpt-4o", ModelID: "fixture-model-1", ModelGroup: "fixture-gpt",
			Provider: "openai", User: "fixture-user", TeamID: "fixture-team", Status: "success"}}}))
	for q, want := range map[string]string{
		`SELECT spend FROM "LiteLLM_VerificationToken" WHERE key_alias = 'fixture'`:                                                     "2",
		`SELECT spend FROM "LiteLLM_TeamTable" WHERE team_id = 'fixture-team'`:                                                          "2.75",
		`SELECT spend FROM "LiteLLM_UserTable" WHERE user_id = 'fixture-user'`:                                                          "1",
		`SELECT spend FROM "LiteLLM_TeamMembership" WHERE user_id = 'fixture-user'`:                                                     "0.75",
		`SELECT team_id || ':' || budget_id FROM "LiteLLM_VerificationToken" WHERE key_alias = 'llmgate'`:                               "fixture-team:llmgate-budget",
		`SELECT count(*) FROM "LiteLLM_SpendLogs" WHERE request_id = 'req-1' AND api_key = '` + k.Token + `'`:                           "1",
		`SELECT model_name FROM "LiteLLM_ProxyModelTable" WHERE model_id = 'llmgate-model'`:                                             "fixture-gpt",
		`SELECT count(*) FROM "LiteLLM_TeamMembership" WHERE team_id = 'fixture-team'`:                                                  "2",
		`SELECT (model_spend->>'fixture-gpt')::float FROM "LiteLLM_VerificationToken" WHERE key_alias = 'fixture'`:                      "0.5",
		`SELECT rotation_count::text || ':' || soft_budget_cooldown::text FROM "LiteLLM_VerificationToken" WHERE key_alias = 'llmgate'`: "0:false",
	} {
		if got := srv.Exec(t, url, q); got != want {
			t.Errorf("%s: %q, want %q", q, got, want)
		}
	}
	// Opening again applies no migration twice.
	s2, err := OpenPostgres(ctx, url)
	must(t, err)
	s2.Close()
	if v := srv.Exec(t, url, `SELECT count(*) FROM llmgate_schema_migrations`); v != strconv.Itoa(len(migrations)) {
		t.Fatalf("migrations recorded: %s", v)
	}
}
