package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// Per-model budgets of teams, internal users and customers (LiteLLM's
// model_max_budget with time_period, D68), through Envoy with openai-go: one
// model's budget spent is refused with LiteLLM's budget_exceeded (400) while
// the entity's other model still works; the team's period restarts. The
// embedded store with the module serving (the refusal comes from the
// module's key table: no request-filter stream), PostgreSQL with the ext_proc
// filter.
func TestModelBudgetsEmbedded(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, keysConfig(fake.URL(), ""), moduleArgs, "LLMGATE_DATA_DIR="+t.TempDir())
	waitLog(t, g, "llmgate module: config")
	runModelBudgets(t, g, true)
}

func TestModelBudgetsPostgres(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	g := startGatewayArgs(t, keysConfig(fake.URL(), url), []string{"--request-filter=extproc"}, "LLMGATE_DATA_DIR="+t.TempDir())
	runModelBudgets(t, g, false)
	if n := pg.Exec(t, url, `SELECT model_max_budget->'gpt-x'->>'time_period' FROM "LiteLLM_TeamTable" WHERE team_id = 'mb-team'`); n != "4s" {
		t.Fatalf("the team's model_max_budget in LiteLLM_TeamTable: %q", n)
	}
}

func runModelBudgets(t *testing.T, g *Gateway, module bool) {
	k := keyAPI{t, g}
	ctx := context.Background()
	mustOK := func(path, body string) map[string]any {
		t.Helper()
		st, m := k.call("POST", path, master, body)
		if st != 200 {
			t.Fatalf("%s %s: %d %v", path, body, st, m)
		}
		return m
	}
	mustOK("/team/new", `{"team_id":"mb-team","model_max_budget":{"gpt-x":{"budget_limit":0.000001,"time_period":"4s"}}}`)
	if st, m := k.call("GET", "/team/info?team_id=mb-team", master, ""); st != 200 {
		t.Fatalf("/team/info: %d %v", st, m)
	} else if ti, _ := m["team_info"].(map[string]any); ti == nil || ti["model_max_budget"] == nil {
		t.Fatalf("/team/info without model_max_budget: %v", m)
	}
	mustOK("/user/new", `{"user_id":"mb-user","model_max_budget":{"other":{"max_budget":0.000001,"budget_duration":"1d"}}}`)
	mustOK("/budget/new", `{"budget_id":"mb-cust-budget","model_max_budget":{"gpt-x":{"budget_limit":0.000001,"time_period":"1d"}}}`)
	mustOK("/customer/new", `{"user_id":"mb-cust","budget_id":"mb-cust-budget"}`)
	teamKey, _ := k.generate(`{"team_id":"mb-team"}`)
	userKey, _ := k.generate(`{"user_id":"mb-user"}`)

	chat := func(key, model, user string) error {
		t.Helper()
		c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0),
			option.WithRequestTimeout(30*time.Second))
		p := openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello budgets")}}
		if user != "" {
			p.User = openai.String(user)
		}
		_, err := c.Chat.Completions.New(ctx, p)
		return err
	}
	// spendUntilRefused sends requests until one is refused (the first
	// answer spends the budget; the module learns it from a push, ext_proc
	// at once) and checks the refusal.
	spendUntilRefused := func(what, key, model, user, who string) {
		t.Helper()
		if err := chat(key, model, user); err != nil {
			t.Fatalf("%s: first request: %v", what, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		var err error
		before := 0
		for time.Now().Before(deadline) {
			if module {
				before = requestFilterStreams(t, g)
			}
			if err = chat(key, model, user); err != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		var apierr *openai.Error
		if !errors.As(err, &apierr) || apierr.StatusCode != 400 || apierr.Type != "budget_exceeded" || apierr.Code != "400" {
			t.Fatalf("%s: want 400 budget_exceeded, got %v", what, err)
		}
		if want := who + ", exceeded budget for model=" + model; !strings.Contains(apierr.Message, want) {
			t.Fatalf("%s: message %q lacks %q", what, apierr.Message, want)
		}
		if module && user == "" && requestFilterStreams(t, g) != before {
			t.Errorf("%s: the refusal was not the module's own", what)
		}
	}

	spendUntilRefused("team's gpt-x", teamKey, "gpt-x", "", "LiteLLM Team: mb-team")
	if err := chat(teamKey, "other", ""); err != nil {
		t.Fatalf("the team's other model: %v", err)
	}
	spendUntilRefused("user's other", userKey, "other", "", "LiteLLM User: mb-user")
	if err := chat(userKey, "gpt-x", ""); err != nil {
		t.Fatalf("the user's other model: %v", err)
	}
	spendUntilRefused("customer's gpt-x (master key)", master, "gpt-x", "mb-cust", "LiteLLM End User: mb-cust")
	if err := chat(master, "other", "mb-cust"); err != nil {
		t.Fatalf("the customer's other model: %v", err)
	}
	// The team's 4 s period restarts: gpt-x is served again.
	time.Sleep(4500 * time.Millisecond)
	if err := chat(teamKey, "gpt-x", ""); err != nil {
		t.Fatalf("the team's gpt-x after its period: %v", err)
	}
}

// A team member's temporary budget increase (/team/member_update
// temp_budget_increase + temp_budget_expiry, D68) through Envoy: the member
// refused at max_budget_in_team is served again by the next request; on
// PostgreSQL the increase is in LiteLLM_BudgetTable's own columns.
func TestTeamMemberTempBudgetEmbedded(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, keysConfig(fake.URL(), ""), moduleArgs, "LLMGATE_DATA_DIR="+t.TempDir())
	waitLog(t, g, "llmgate module: config")
	runMemberTempBudget(t, g)
}

func TestTeamMemberTempBudgetPostgres(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	g := startGatewayArgs(t, keysConfig(fake.URL(), url), []string{"--request-filter=extproc"}, "LLMGATE_DATA_DIR="+t.TempDir())
	runMemberTempBudget(t, g)
	if n := pg.Exec(t, url, `SELECT b.temp_budget_increase::text || ':' || (b.temp_budget_expiry > now())::text FROM "LiteLLM_TeamMembership" m
		JOIN "LiteLLM_BudgetTable" b ON b.budget_id = m.budget_id WHERE m.team_id = 'tb-team' AND m.user_id = 'tb-user'`); n != "1:true" {
		t.Fatalf("the member's LiteLLM_BudgetTable row: %q", n)
	}
}

func runMemberTempBudget(t *testing.T, g *Gateway) {
	k := keyAPI{t, g}
	for _, c := range [][2]string{
		{"/team/new", `{"team_id":"tb-team"}`},
		{"/team/member_add", `{"team_id":"tb-team","member":{"role":"user","user_id":"tb-user"},"max_budget_in_team":0.000001}`},
	} {
		if st, m := k.call("POST", c[0], master, c[1]); st != 200 {
			t.Fatalf("%s: %d %v", c[0], st, m)
		}
	}
	key, _ := k.generate(`{"team_id":"tb-team","user_id":"tb-user"}`)
	if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
		t.Fatalf("first request: %d %v", st, e)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, e, _ := k.chat(key, "gpt-x")
		if st == 400 && e["type"] == "budget_exceeded" {
			break
		}
		if st != 200 || time.Now().After(deadline) {
			t.Fatalf("the member's spent budget: %d %v", st, e)
		}
		time.Sleep(10 * time.Millisecond)
	}
	expiry := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02T15:04:05")
	st, m := k.call("POST", "/team/member_update", master, `{"team_id":"tb-team","user_id":"tb-user","temp_budget_increase":1,"temp_budget_expiry":"`+expiry+`"}`)
	if st != 200 || m["temp_budget_increase"] != 1.0 {
		t.Fatalf("/team/member_update: %d %v", st, m)
	}
	if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
		t.Fatalf("the member with the increase: %d %v", st, e)
	}
}
