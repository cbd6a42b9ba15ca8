package e2e

import (
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// runTeamMemberModels: a team member's allowed_models (/team/member_add,
// /team/member_update) narrow the member's team keys below the team's
// models, with LiteLLM's 403 team_model_access_denied; another member keeps
// the team's models; an empty list gives the team's models back.
func runTeamMemberModels(t *testing.T, k keyAPI) {
	t.Run("team member allowed_models", func(t *testing.T) {
		if st, m := k.call("POST", "/team/new", master, `{"team_id":"scoped","models":["gpt-x","other"]}`); st != 200 {
			t.Fatalf("/team/new: %d %v", st, m)
		}
		if st, m := k.call("POST", "/team/member_add", master, `{"team_id":"scoped","member":{"role":"user","user_id":"ivy"},"allowed_models":["gpt-x"]}`); st != 200 {
			t.Fatalf("/team/member_add: %d %v", st, m)
		}
		if st, m := k.call("POST", "/team/member_add", master, `{"team_id":"scoped","member":{"role":"user","user_id":"ola"}}`); st != 200 {
			t.Fatalf("/team/member_add: %d %v", st, m)
		}
		ivy, _ := k.generate(`{"team_id":"scoped","user_id":"ivy"}`)
		ola, _ := k.generate(`{"team_id":"scoped","user_id":"ola"}`)
		if st, e, _ := k.chat(ivy, "gpt-x"); st != 200 {
			t.Fatalf("ivy, a model of her list: %d %v", st, e)
		}
		st, e, _ := k.chat(ivy, "other")
		if st != 403 || e["type"] != "team_model_access_denied" || e["param"] != "model" ||
			!strings.HasPrefix(e["message"].(string), "The requested model 'other' is not available for this API key") {
			t.Fatalf("ivy, a team model outside her list: %d %v", st, e)
		}
		if st, e, _ := k.chat(ola, "other"); st != 200 {
			t.Fatalf("ola keeps the team's models: %d %v", st, e)
		}
		st, m := k.call("POST", "/team/member_update", master, `{"team_id":"scoped","user_id":"ola","allowed_models":["other"]}`)
		if st != 200 || len(m["allowed_models"].([]any)) != 1 {
			t.Fatalf("/team/member_update: %d %v", st, m)
		}
		if st, e, _ := k.chat(ola, "gpt-x"); st != 403 || e["type"] != "team_model_access_denied" {
			t.Fatalf("ola after member_update: %d %v", st, e)
		}
		if st, m := k.call("POST", "/team/member_update", master, `{"team_id":"scoped","user_id":"ivy","allowed_models":[]}`); st != 200 {
			t.Fatalf("/team/member_update []: %d %v", st, m)
		}
		if st, e, _ := k.chat(ivy, "other"); st != 200 {
			t.Fatalf("ivy with an empty list has the team's models again: %d %v", st, e)
		}
		if st, m := k.call("POST", "/team/member_update", master, `{"team_id":"scoped","user_id":"ivy","allowed_models":"gpt-x"}`); st != 400 {
			t.Fatalf("allowed_models not a list: %d %v", st, m)
		}
	})
}

func TestTeamMemberModelsEmbedded(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, keysConfig(fake.URL(), ""), "LLMGATE_DATA_DIR="+t.TempDir())
	runTeamMemberModels(t, keyAPI{t, g})
}

func TestTeamMemberModelsPostgres(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	g := startGateway(t, keysConfig(fake.URL(), url))
	runTeamMemberModels(t, keyAPI{t, g})
	// In LiteLLM's tables: ola's membership budget row lists her model.
	if n := pg.Exec(t, url, `SELECT array_to_string(b.allowed_models, ',') FROM "LiteLLM_TeamMembership" m
		JOIN "LiteLLM_BudgetTable" b ON b.budget_id = m.budget_id WHERE m.team_id = 'scoped' AND m.user_id = 'ola'`); n != "other" {
		t.Fatalf("ola's budget row allowed_models: %q", n)
	}
}
