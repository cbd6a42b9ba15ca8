package keys

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// callAs is a management call with a caller; it returns status and body.
func callAs(t *testing.T, s *Service, c Caller, method, path, body string) (int, map[string]any) {
	t.Helper()
	st, out := s.Handle(context.Background(), method, path, []byte(body), c)
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		var l []any
		if json.Unmarshal(out, &l) == nil {
			return st, map[string]any{"list": l}
		}
		t.Fatalf("%s %s: %d, not JSON: %s", method, path, st, out)
	}
	return st, m
}

func errMsg(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// /team/member_add and /team/member_delete: LiteLLM's shapes, users made on
// the fly, member budgets (max_budget_in_team) enforced on the team's keys,
// and only the proxy admin or a team admin may change members.
func TestTeamMembers(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	admin := Caller{Admin: true}
	call(t, s, "POST", "/team/new", `{"team_id":"t1","members_with_roles":[{"role":"admin","user_id":"boss"}]}`)
	out := call(t, s, "POST", "/team/member_add", `{"team_id":"t1","member":{"role":"user","user_id":"alice"},"max_budget_in_team":1}`)
	if len(out["members_with_roles"].([]any)) != 2 || len(out["updated_users"].([]any)) != 1 || len(out["updated_team_memberships"].([]any)) != 1 {
		t.Fatalf("member_add: %v", out)
	}
	tm := out["updated_team_memberships"].([]any)[0].(map[string]any)
	if tm["litellm_budget_table"].(map[string]any)["max_budget"] != 1.0 {
		t.Fatalf("membership: %v", tm)
	}
	u := call(t, s, "GET", "/user/info?user_id=alice", "")
	if ui := u["user_info"].(map[string]any); ui["user_role"] != "internal_user" || ui["teams"].([]any)[0] != "t1" {
		t.Fatalf("user made by member_add: %v", u)
	}
	out = call(t, s, "POST", "/team/member_add", `{"team_id":"t1","member":[{"role":"user","user_id":"bob"},{"role":"admin","user_email":"carol@example.com"}]}`)
	if ms := out["members_with_roles"].([]any); len(ms) != 4 || ms[3].(map[string]any)["user_id"] == nil || len(out["admins"].([]any)) != 2 {
		t.Fatalf("member_add list: %v", out)
	}
	if st, m := callAs(t, s, admin, "POST", "/team/member_add", `{"team_id":"t1","member":{"user_id":"alice"}}`); st != 400 ||
		!strings.HasPrefix(errMsg(m), "User=alice already in team. Existing members=[Member(user_id='boss'") {
		t.Fatalf("duplicate: %d %v", st, m)
	}
	if st, m := callAs(t, s, admin, "POST", "/team/member_add", `{"team_id":"nope","member":{"user_id":"x"}}`); st != 404 || errMsg(m) != "Team not found for team_id=nope" {
		t.Fatalf("unknown team: %d %v", st, m)
	}
	if st, m := callAs(t, s, admin, "POST", "/team/member_add", `{"team_id":"t1","member":{"user_id":"x","role":"owner"}}`); st != 400 {
		t.Fatalf("bad role: %d %v", st, m)
	}

	// The member budget holds on alice's team key; bob has none.
	ka := generate(t, s, `{"team_id":"t1","user_id":"alice"}`)
	kb := generate(t, s, `{"team_id":"t1","user_id":"bob"}`)
	s.Record(SpendEvent{KeyToken: keystore.HashKey(ka), TeamID: "t1", UserID: "alice", Cost: 1.5})
	_, e := s.Authorize(ctx, keystore.HashKey(ka), ka, []string{"m"})
	if e == nil || e.Status != 400 || e.Type != "budget_exceeded" || e.Message != "Budget has been exceeded! User=alice in Team=t1 Current cost: 1.5, Max budget: 1.0" {
		t.Fatalf("member over budget: %+v", e)
	}
	if _, e := s.Authorize(ctx, keystore.HashKey(kb), kb, []string{"m"}); e != nil {
		t.Fatalf("member without a budget: %+v", e)
	}
	info := call(t, s, "GET", "/team/info?team_id=t1", "")
	if ms := info["team_memberships"].([]any); len(ms) != 1 || ms[0].(map[string]any)["spend"] != 1.5 {
		t.Fatalf("/team/info memberships: %v", info["team_memberships"])
	}

	// A team admin's key may add and remove members; a member's may not.
	kboss := generate(t, s, `{"user_id":"boss"}`)
	boss := Caller{Token: keystore.HashKey(kboss)}
	alice := Caller{Token: keystore.HashKey(ka)}
	if st, m := callAs(t, s, alice, "POST", "/team/member_add", `{"team_id":"t1","member":{"user_id":"dave"}}`); st != 403 ||
		errMsg(m) != "Call not allowed. User not proxy admin OR team admin. route=/team/member_add, team_id=t1" {
		t.Fatalf("member's key: %d %v", st, m)
	}
	if st, m := callAs(t, s, boss, "POST", "/team/member_add", `{"team_id":"t1","member":{"user_id":"dave"}}`); st != 200 {
		t.Fatalf("team admin's key: %d %v", st, m)
	}
	if st, m := callAs(t, s, alice, "POST", "/team/member_delete", `{"team_id":"t1","user_id":"dave"}`); st != 403 {
		t.Fatalf("member's key deleting: %d %v", st, m)
	}
	out = call(t, s, "POST", "/team/member_delete", `{"team_id":"t1","user_id":"alice"}`)
	for _, m := range out["members_with_roles"].([]any) {
		if m.(map[string]any)["user_id"] == "alice" {
			t.Fatalf("alice still a member: %v", out)
		}
	}
	if u := call(t, s, "GET", "/user/info?user_id=alice", ""); len(u["user_info"].(map[string]any)["teams"].([]any)) != 0 {
		t.Fatalf("alice's teams after member_delete: %v", u)
	}
	if _, e := s.Authorize(ctx, keystore.HashKey(ka), ka, []string{"m"}); e != nil {
		t.Fatalf("no membership, no member budget: %+v", e)
	}
	if st, m := callAs(t, s, admin, "POST", "/team/member_delete", `{"team_id":"t1","user_id":"alice"}`); st != 400 || errMsg(m) != "User not found in team" {
		t.Fatalf("second delete: %d %v", st, m)
	}
	if st, m := callAs(t, s, admin, "POST", "/team/member_delete", `{"team_id":"t1"}`); st != 400 || errMsg(m) != "Either user_id or user_email needs to be passed in" {
		t.Fatalf("no user: %d %v", st, m)
	}
}

// Team and user rpm/tpm/parallel limits hold over several keys, with
// LiteLLM's 429 naming the limit type.
func TestTeamAndUserLimits(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	call(t, s, "POST", "/team/new", `{"team_id":"rl","rpm_limit":2}`)
	k1 := generate(t, s, `{"team_id":"rl"}`)
	k2 := generate(t, s, `{"team_id":"rl"}`)
	for _, k := range []string{k1, k2} {
		g, e := s.Authorize(ctx, keystore.HashKey(k), k, []string{"m"})
		if e != nil || g.Parallel {
			t.Fatalf("within the team's rpm: %+v %+v", e, g)
		}
	}
	_, e := s.Authorize(ctx, keystore.HashKey(k1), k1, []string{"m"})
	if e == nil || e.Status != 429 || !strings.Contains(e.Message, "rate limit type = team") || !strings.Contains(e.Message, "team=rl") || e.RetryAfter <= 0 {
		t.Fatalf("third request of the team in a minute: %+v", e)
	}

	call(t, s, "POST", "/team/new", `{"team_id":"par","max_parallel_requests":1}`)
	p1 := generate(t, s, `{"team_id":"par"}`)
	p2 := generate(t, s, `{"team_id":"par"}`)
	g, e := s.Authorize(ctx, keystore.HashKey(p1), p1, []string{"m"})
	if e != nil || !g.Parallel {
		t.Fatalf("first in flight: %+v %+v", e, g)
	}
	if _, e := s.Authorize(ctx, keystore.HashKey(p2), p2, []string{"m"}); e == nil || e.Status != 429 || !strings.Contains(e.Message, "max_parallel_requests") {
		t.Fatalf("second key of the team while one is in flight: %+v", e)
	}
	s.End(ctx, g.Token)
	if _, e := s.Authorize(ctx, keystore.HashKey(p2), p2, []string{"m"}); e != nil {
		t.Fatalf("after End: %+v", e)
	}

	call(t, s, "POST", "/user/new", `{"user_id":"heavy","tpm_limit":100,"auto_create_key":false}`)
	u1 := generate(t, s, `{"user_id":"heavy"}`)
	u2 := generate(t, s, `{"user_id":"heavy"}`)
	s.RecordUsage(ctx, keystore.HashKey(u1), "", 100)
	if _, e := s.Authorize(ctx, keystore.HashKey(u2), u2, []string{"m"}); e == nil || e.Status != 429 || !strings.Contains(e.Message, "rate limit type = user") {
		t.Fatalf("the user's other key after 100 of 100 tokens: %+v", e)
	}
	// A refusal by a later entity gives back the slots of the earlier ones.
	call(t, s, "POST", "/team/new", `{"team_id":"tight","rpm_limit":1}`)
	kp := generate(t, s, `{"team_id":"tight","max_parallel_requests":1}`)
	if _, e := s.Authorize(ctx, keystore.HashKey(kp), kp, []string{"m"}); e != nil {
		t.Fatal(e)
	}
	s.End(ctx, keystore.HashKey(kp))
	if _, e := s.Authorize(ctx, keystore.HashKey(kp), kp, []string{"m"}); e == nil || !strings.Contains(e.Message, "type = team") {
		t.Fatalf("team rpm: %+v", e)
	}
	call(t, s, "POST", "/team/update", `{"team_id":"tight","rpm_limit":null}`)
	if _, e := s.Authorize(ctx, keystore.HashKey(kp), kp, []string{"m"}); e != nil {
		t.Fatalf("the key's parallel slot leaked on the team's refusal: %+v", e)
	}
}

// Team-member rpm/tpm limits (LiteLLM_TeamMembership → LiteLLM_BudgetTable):
// the team's default member budget (/team/new team_member_rpm_limit) reaches
// every member, /team/member_update gives one member its own row without
// touching the others, and a member's keys of that team share its limit
// (429, LiteLLM's team_member message); a personal key is not limited by it.
func TestTeamMemberRateLimits(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	out := call(t, s, "POST", "/team/new", `{"team_id":"t1","team_alias":"Core Team","team_member_rpm_limit":2,"team_member_tpm_limit":1000,
		"members_with_roles":[{"role":"user","user_id":"alice"}],"metadata":{"team_member_budget_id":"client-chosen"}}`)
	def, _ := out["metadata"].(map[string]any)[teamMemberBudgetKey].(string)
	if !strings.HasPrefix(def, "team-Core-Team-budget-") {
		t.Fatalf("default member budget id %q in %v", def, out["metadata"])
	}
	call(t, s, "POST", "/team/member_add", `{"team_id":"t1","member":{"role":"user","user_id":"bob"}}`)
	info := call(t, s, "GET", "/team/info?team_id=t1", "")
	ms := info["team_memberships"].([]any)
	if len(ms) != 2 {
		t.Fatalf("memberships %v", ms)
	}
	for _, m := range ms {
		b := m.(map[string]any)["litellm_budget_table"].(map[string]any)
		if m.(map[string]any)["budget_id"] != def || b["rpm_limit"] != 2.0 || b["tpm_limit"] != 1000.0 {
			t.Fatalf("membership %v, want the default budget", m)
		}
	}
	a1 := keystore.HashKey(generate(t, s, `{"team_id":"t1","user_id":"alice"}`))
	a2 := keystore.HashKey(generate(t, s, `{"team_id":"t1","user_id":"alice"}`))
	bob := keystore.HashKey(generate(t, s, `{"team_id":"t1","user_id":"bob"}`))
	personal := keystore.HashKey(generate(t, s, `{"user_id":"alice"}`))
	for i, tok := range []string{a1, a2} {
		if _, e := s.Authorize(ctx, tok, "sk-x", []string{"m"}); e != nil {
			t.Fatalf("alice's request %d: %v", i+1, e)
		}
	}
	_, e := s.Authorize(ctx, a1, "sk-x", []string{"m"})
	if e == nil || e.Status != 429 || e.RetryAfter <= 0 ||
		!strings.HasPrefix(e.Message, "Rate limit exceeded for team_member: t1:alice. Limit type: requests. Current limit: 2, Remaining: 0.") {
		t.Fatalf("alice's third request in the minute (two keys): %+v", e)
	}
	if _, e := s.Authorize(ctx, bob, "sk-x", []string{"m"}); e != nil {
		t.Fatalf("bob has his own count: %v", e)
	}
	for i := 0; i < 3; i++ {
		if _, e := s.Authorize(ctx, personal, "sk-x", []string{"m"}); e != nil {
			t.Fatalf("a personal key is not a team member's: %v", e)
		}
	}
	// member_update: bob gets his own row (rpm 1), alice keeps the default.
	st, m := callAs(t, s, Caller{Admin: true}, "POST", "/team/member_update", `{"team_id":"t1","user_id":"bob","rpm_limit":1}`)
	if st != 200 || m["rpm_limit"] != 1.0 || m["user_id"] != "bob" || m["team_id"] != "t1" {
		t.Fatalf("member_update: %d %v", st, m)
	}
	if _, e := s.Authorize(ctx, bob, "sk-x", []string{"m"}); e == nil || e.Status != 429 {
		t.Fatalf("bob over his own rpm 1: %+v", e)
	}
	if b := s.budget(def); b == nil || val(b.RPMLimit) != 2 {
		t.Fatalf("the default member budget changed: %+v", b)
	}
	if rpm, tpm := s.memberLimits("t1", "bob"); rpm != 1 || tpm != 1000 {
		t.Fatalf("bob's own row: rpm %d tpm %d, want 1 and the default's 1000", rpm, tpm)
	}
	// tpm: the member's tokens this minute.
	carol := keystore.HashKey(generate(t, s, `{"team_id":"t1","user_id":"carol"}`))
	call(t, s, "POST", "/team/member_add", `{"team_id":"t1","member":{"role":"user","user_id":"carol"}}`)
	s.RecordTokens(ctx, carol, 1000)
	if _, e := s.Authorize(ctx, carol, "sk-x", []string{"m"}); e == nil || e.Status != 429 || !strings.Contains(e.Message, "Limit type: tokens") {
		t.Fatalf("carol after 1000 of 1000 tokens: %+v", e)
	}
	// Errors as LiteLLM's.
	for _, tc := range []struct{ body, msg string }{
		{`{"user_id":"bob"}`, "No team id passed in"},
		{`{"team_id":"t1"}`, "Either user_id or user_email needs to be passed in"},
		{`{"team_id":"nope","user_id":"bob"}`, "Team id=nope does not exist in db"},
		{`{"team_id":"t1","user_id":"zed"}`, "User id doesn't exist in team table."},
		{`{"team_id":"t1","user_id":"bob","rpm_limit":-1}`, "rpm_limit"},
	} {
		if st, m := callAs(t, s, Caller{Admin: true}, "POST", "/team/member_update", tc.body); st != 400 || !strings.Contains(errMsg(m), tc.msg) {
			t.Errorf("%s: %d %v, want 400 %q", tc.body, st, m, tc.msg)
		}
	}
	if st, _ := callAs(t, s, Caller{Token: bob}, "POST", "/team/member_update", `{"team_id":"t1","user_id":"bob","rpm_limit":100}`); st != 403 && st != 401 {
		t.Errorf("a member raising its own limit: %d", st)
	}
	// /team/update changes the default for every member still on it.
	call(t, s, "POST", "/team/update", `{"team_id":"t1","team_member_rpm_limit":50,"metadata":{}}`)
	if rpm, _ := s.memberLimits("t1", "alice"); rpm != 50 {
		t.Fatalf("alice after /team/update: rpm %d, want 50", rpm)
	}
	if got := s.teamMetaBudget("t1"); got != def {
		t.Fatalf("metadata lost the default member budget: %q", got)
	}
}

func (s *Service) teamMetaBudget(id string) string {
	t, _, _ := s.team(id)
	return defaultMemberBudgetID(t)
}

// /key/update and /key/regenerate edge cases as LiteLLM answers them:
// update by a unique key_alias when no key is given (404 / 400 otherwise),
// "Key not found." with param key, regenerate's "No key passed in.",
// "Key … not found." and its new_key rules (sk- prefix, at least 16
// characters); the regenerated key keeps spend and limits, the old one is gone.
func TestKeyUpdateRegenerateEdgeCases(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	admin := Caller{Admin: true}
	key := generate(t, s, `{"key_alias":"edge","max_budget":5,"rpm_limit":7}`)
	generate(t, s, `{"key_alias":"twin"}`)
	st, m := callAs(t, s, admin, "POST", "/key/update", `{"key_alias":"edge","max_budget":6}`)
	if st != 200 || m["max_budget"] != 6.0 {
		t.Fatalf("update by alias: %d %v", st, m)
	}
	for _, tc := range []struct {
		path, body string
		status     int
		msg, param string
	}{
		{"/key/update", `{"max_budget":1}`, 400, "either key or key_alias must be provided", "key"},
		{"/key/update", `{"key_alias":"nobody"}`, 404, "Key not found. No key with key_alias='nobody'.", "key_alias"},
		{"/key/update", `{"key":"sk-does-not-exist"}`, 404, "Key not found.", "key"},
		{"/key/regenerate", `{}`, 400, "No key passed in.", ""},
		{"/key/regenerate", `{"key":"sk-does-not-exist"}`, 404, "Key sk-does-not-exist not found.", ""},
		{"/key/regenerate", `{"key":"` + key + `","new_key":"pk-0123456789abcdef"}`, 400, "New key must start with 'sk-'.", ""},
		{"/key/regenerate", `{"key":"` + key + `","new_key":"sk-short"}`, 400, "New key must be at least 16 characters long.", ""},
	} {
		st, m := callAs(t, s, admin, "POST", tc.path, tc.body)
		e, _ := m["error"].(map[string]any)
		if st != tc.status || !strings.HasPrefix(errMsg(m), tc.msg) || tc.param != "" && e["param"] != tc.param {
			t.Errorf("%s %s: %d %v, want %d %q param %q", tc.path, tc.body, st, m, tc.status, tc.msg, tc.param)
		}
	}
	// Two keys share an alias only if something else wrote them (LiteLLM's
	// database); updating by that alias is refused.
	k2 := *mustKey(t, s, keystore.HashKey(key))
	k2.Token = keystore.HashKey("sk-another-with-same-alias")
	if err := s.o.Store.PutKey(ctx, &k2); err != nil {
		t.Fatal(err)
	}
	s.setKey(k2.Token, &k2)
	if st, m := callAs(t, s, admin, "POST", "/key/update", `{"key_alias":"edge"}`); st != 400 || !strings.HasPrefix(errMsg(m), "Multiple keys share key_alias='edge'") {
		t.Errorf("update by a shared alias: %d %v", st, m)
	}
	st, m = callAs(t, s, admin, "POST", "/key/regenerate", `{"key":"`+key+`","new_key":"sk-0123456789abcdef"}`)
	if st != 200 || m["key"] != "sk-0123456789abcdef" || m["rpm_limit"] != 7.0 {
		t.Fatalf("regenerate with new_key: %d %v", st, m)
	}
	if _, _, ok := s.Lookup(keystore.HashKey(key)); ok {
		t.Fatal("the old key still works after regenerate")
	}
}

func mustKey(t *testing.T, s *Service, token string) *keystore.Key {
	t.Helper()
	k, _, ok := s.Lookup(token)
	if !ok {
		t.Fatalf("no key %s", token)
	}
	return k
}
