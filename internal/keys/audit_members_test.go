package keys

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// TestAuditLogTeamMembers (D85): /team/member_add, /team/member_update and
// /team/member_delete leave LiteLLM_TeamMembership rows keyed by the team
// (created with the request's member, updated and deleted with the member
// as the team held it before), by the master key and by a team admin's
// key, on both stores and across a restart; a refused change leaves none.
func TestAuditLogTeamMembers(t *testing.T) { forAuditStores(t, testAuditLogTeamMembers) }

func testAuditLogTeamMembers(r *auditRig) {
	t, s, master := r.t, r.s, r.master
	ctx := context.Background()
	do := func(path, body string, c Caller, want int) map[string]any {
		t.Helper()
		return r.call("POST", path, body, c, want)
	}
	do("/team/new", `{"team_id":"t-m","team_alias":"members"}`, master, 200)
	s.SetAuditLog(true, nil)
	do("/team/member_add", `{"team_id":"t-m","member":{"role":"user","user_id":"u-a","user_email":"a@example.com"},"max_budget_in_team":5}`, master, 200)
	do("/team/member_add", `{"team_id":"t-m","member":[{"role":"admin","user_id":"u-b"}]}`, master, 200)
	do("/team/member_update", `{"team_id":"t-m","user_email":"a@example.com","role":"admin","max_budget_in_team":7}`, master, 200)
	do("/team/member_delete", `{"team_id":"t-m","user_id":"u-a"}`, master, 200)
	do("/team/member_delete", `{"team_id":"t-m","user_id":"u-nobody"}`, master, 400) // refused: no row
	// u-b, a team admin, adds a member with its own key.
	bKey := do("/key/generate", `{"user_id":"u-b","team_id":"t-m"}`, master, 200)["token_id"].(string)
	do("/team/member_add", `{"team_id":"t-m","member":{"role":"user","user_id":"u-c"}}`, Caller{Token: bKey}, 200)
	s = r.restart()
	st, out := s.Handle(ctx, "GET", "/audit?sort_order=asc&table_name="+AuditTeamMembershipTable, nil, master)
	if st != 200 {
		t.Fatalf("/audit: %d %s", st, out)
	}
	var page struct {
		Logs []map[string]any `json:"audit_logs"`
	}
	_ = json.Unmarshal(out, &page)
	type row = map[string]any
	want := []struct{ action, by, key string }{
		{"created", "default_user_id", keystore.HashKey("sk-master")}, {"created", "default_user_id", keystore.HashKey("sk-master")},
		{"updated", "default_user_id", keystore.HashKey("sk-master")}, {"deleted", "default_user_id", keystore.HashKey("sk-master")},
		{"created", "u-b", bKey},
	}
	if len(page.Logs) != len(want) {
		t.Fatalf("%d membership rows, want %d: %s", len(page.Logs), len(want), out)
	}
	for i, w := range want {
		r := page.Logs[i]
		if r["action"] != w.action || r["object_id"] != "t-m" || r["table_name"] != AuditTeamMembershipTable || r["changed_by"] != w.by || r["changed_by_api_key"] != w.key {
			t.Errorf("row %d: %v, want %v", i, r, w)
		}
	}
	added := page.Logs[0]["updated_values"].(row)
	if m, _ := added["member"].(row); added["team_id"] != "t-m" || m["user_id"] != "u-a" || m["user_email"] != "a@example.com" || added["max_budget_in_team"] != 5.0 || page.Logs[0]["before_value"] != nil {
		t.Errorf("member_add: updated_values %v, before_value %v", added, page.Logs[0]["before_value"])
	}
	if l, _ := page.Logs[1]["updated_values"].(row)["member"].([]any); len(l) != 1 || l[0].(row)["user_id"] != "u-b" {
		t.Errorf("member_add of a list: %v", page.Logs[1]["updated_values"])
	}
	upd := page.Logs[2]
	if bv, uv := upd["before_value"].(row), upd["updated_values"].(row); bv["user_id"] != "u-a" || bv["role"] != "user" || bv["team_id"] != "t-m" ||
		uv["role"] != "admin" || uv["max_budget_in_team"] != 7.0 {
		t.Errorf("member_update: before %v, after %v", bv, uv)
	}
	del := page.Logs[3]
	if bv, uv := del["before_value"].(row), del["updated_values"].(row); bv["user_id"] != "u-a" || bv["role"] != "admin" || len(uv) != 0 {
		t.Errorf("member_delete: before %v, after %v", bv, uv)
	}
}
