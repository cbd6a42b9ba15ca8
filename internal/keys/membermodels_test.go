package keys

import (
	"context"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// A team member's allowed_models (LiteLLM's check_team_member_model_access):
// set at /team/member_add or /team/member_update on the member's budget
// row; a team key of that member may call only those; [] lifts it.
func TestTeamMemberAllowedModels(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	call := func(path, body string) {
		t.Helper()
		if st, out := s.Handle(ctx, "POST", path, []byte(body), Caller{Admin: true}); st != 200 {
			t.Fatalf("%s %s: %d %s", path, body, st, out)
		}
	}
	call("/team/new", `{"team_id":"t","models":["a","b"]}`)
	call("/team/member_add", `{"team_id":"t","member":{"role":"user","user_id":"u"},"allowed_models":["a"]}`)
	key := generate(t, s, `{"team_id":"t","user_id":"u"}`)
	check := func(model string) *Error {
		_, e := s.Authorize(ctx, keystore.HashKey(key), key, []string{model})
		return e
	}
	if e := check("a"); e != nil {
		t.Fatalf("a model of the member's list: %v", e)
	}
	e := check("b")
	if e == nil || e.Status != 403 || e.Type != "team_model_access_denied" || e.Param != "model" {
		t.Fatalf("a team model outside the member's list: %+v", e)
	}
	call("/team/member_update", `{"team_id":"t","user_id":"u","allowed_models":[]}`)
	if e := check("b"); e != nil {
		t.Fatalf("after allowed_models []: %v", e)
	}
	if st, _ := s.Handle(ctx, "POST", "/team/member_update", []byte(`{"team_id":"t","user_id":"u","allowed_models":[1]}`), Caller{Admin: true}); st != 400 {
		t.Fatalf("allowed_models of numbers: %d", st)
	}
}
