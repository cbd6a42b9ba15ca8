package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/outcome"
)

// /spend/logs, /spend/keys, /spend/users, /global/spend* read what the spend
// batches wrote, in LiteLLM's shapes.
func TestSpendRoutes(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	admin := Caller{Admin: true}
	call(t, s, "POST", "/user/new", `{"user_id":"ann","auto_create_key":false}`)
	k1 := generate(t, s, `{"user_id":"ann","key_alias":"first"}`)
	k2 := generate(t, s, `{}`)
	t1, t2 := keystore.HashKey(k1), keystore.HashKey(k2)
	day := clock.Truncate(24 * time.Hour)
	s.Record(SpendEvent{RequestID: "r1", KeyToken: t1, UserID: "ann", Model: "gpt-4o", Cost: 0.5, Start: clock, End: clock})
	s.Record(SpendEvent{RequestID: "r2", KeyToken: t1, UserID: "ann", Model: "claude", Cost: 0.25, Start: clock.Add(time.Minute), End: clock.Add(time.Minute)})
	s.Record(SpendEvent{RequestID: "r3", KeyToken: t2, Model: "gpt-4o", Cost: 1, Start: clock.Add(-48 * time.Hour), End: clock.Add(-48 * time.Hour)})
	must(t, s.flush(ctx))

	st, m := callAs(t, s, admin, "GET", "/spend/logs?api_key="+k1, "")
	if rows := m["list"].([]any); st != 200 || len(rows) != 2 || rows[0].(map[string]any)["request_id"] != "r2" || rows[1].(map[string]any)["spend"] != 0.5 {
		t.Fatalf("/spend/logs?api_key: %d %v", st, m)
	}
	if _, m := callAs(t, s, admin, "GET", "/spend/logs?request_id=r3", ""); len(m["list"].([]any)) != 1 {
		t.Fatalf("/spend/logs?request_id: %v", m)
	}
	if _, m := callAs(t, s, admin, "GET", "/spend/logs?user_id=ann", ""); len(m["list"].([]any)) != 2 {
		t.Fatalf("/spend/logs?user_id: %v", m)
	}
	if _, m := callAs(t, s, admin, "GET", "/spend/logs", ""); len(m["list"].([]any)) != 3 {
		t.Fatalf("/spend/logs: %v", m)
	}
	from, to := day.AddDate(0, 0, -2).Format("2006-01-02"), day.AddDate(0, 0, 2).Format("2006-01-02")
	_, m = callAs(t, s, admin, "GET", "/spend/logs?start_date="+from+"&end_date="+to, "")
	rows := m["list"].([]any)
	// Days with spend, then every day after the last up to end_date (LiteLLM
	// fills only those).
	if len(rows) != 4 {
		t.Fatalf("summarized: %d days, want 4 (%v)", len(rows), rows)
	}
	d0, d2 := rows[0].(map[string]any), rows[1].(map[string]any)
	if d0["spend"] != 1.0 || d2["spend"] != 0.75 || d2[t1] != 0.75 || d2["models"].(map[string]any)["claude"] != 0.25 ||
		d2["users"].(map[string]any)["ann"] != 0.75 || rows[3].(map[string]any)["spend"] != 0.0 {
		t.Fatalf("summarized days: %v", rows)
	}
	if _, m := callAs(t, s, admin, "GET", "/spend/logs?start_date="+from+"&end_date="+to+"&summarize=false", ""); len(m["list"].([]any)) != 3 {
		t.Fatalf("unsummarized: %v", m)
	}
	if st, _ := callAs(t, s, admin, "GET", "/spend/logs?start_date=2026-13-01&end_date="+to, ""); st != 400 {
		t.Fatalf("bad date: %d", st)
	}
	_, m = callAs(t, s, admin, "GET", "/spend/keys", "")
	if keys := m["list"].([]any); len(keys) != 2 || keys[0].(map[string]any)["token"] != t2 || keys[0].(map[string]any)["spend"] != 1.0 {
		t.Fatalf("/spend/keys: %v", m)
	}
	if _, m := callAs(t, s, admin, "GET", "/spend/users?user_id=ann", ""); len(m["list"].([]any)) != 1 || m["list"].([]any)[0].(map[string]any)["spend"] != 0.75 {
		t.Fatalf("/spend/users: %v", m)
	}
	if g := call(t, s, "GET", "/global/spend", ""); g["spend"] != 1.75 || g["max_budget"] != 0.0 {
		t.Fatalf("/global/spend: %v", g)
	}
	_, m = callAs(t, s, admin, "GET", "/global/spend/keys?limit=1", "")
	if top := m["list"].([]any); len(top) != 1 || top[0].(map[string]any)["api_key"] != t2 {
		t.Fatalf("/global/spend/keys: %v", m)
	}
	_, m = callAs(t, s, admin, "GET", "/global/spend/models", "")
	if top := m["list"].([]any); len(top) != 2 || top[0].(map[string]any)["model"] != "gpt-4o" || top[0].(map[string]any)["total_spend"] != 1.5 {
		t.Fatalf("/global/spend/models: %v", m)
	}
	if st, _ := callAs(t, s, admin, "GET", "/global/spend/keys?limit=100000", ""); st != 400 {
		t.Fatalf("unbounded limit accepted: %d", st)
	}
	if st, _ := callAs(t, s, Caller{Token: t1}, "GET", "/spend/logs", ""); st != 401 {
		t.Fatalf("a virtual key read spend logs: %d", st)
	}
}

// soft_budget: a key's or team's spend crossing it is recorded once per
// period (the hook, soft_budget_cooldown); requests go on.
func TestSoftBudgetCrossing(t *testing.T) {
	ctx := context.Background()
	ks := embedded(t)
	s := newService(t, ks, "")
	defer s.Close()
	got := make(chan Crossing, 10)
	s.OnSoftBudgetCrossed(func(c Crossing) { got <- c })
	out := call(t, s, "POST", "/key/generate", `{"soft_budget":1,"key_alias":"soft"}`)
	if out["soft_budget"] != 1.0 || out["budget_id"] == nil {
		t.Fatalf("/key/generate soft_budget: %v", out)
	}
	key := out["key"].(string)
	tok := keystore.HashKey(key)
	call(t, s, "POST", "/team/new", `{"team_id":"st","soft_budget":2}`)
	s.Record(SpendEvent{KeyToken: tok, TeamID: "st", Cost: 0.6})
	s.Record(SpendEvent{KeyToken: tok, TeamID: "st", Cost: 0.6}) // key crosses 1
	s.Record(SpendEvent{KeyToken: tok, TeamID: "st", Cost: 0.6})
	s.Record(SpendEvent{KeyToken: tok, TeamID: "st", Cost: 0.6}) // team crosses 2
	var cs []Crossing
	for len(cs) < 2 {
		select {
		case c := <-got:
			cs = append(cs, c)
		case <-time.After(5 * time.Second):
			t.Fatalf("crossings: %+v", cs)
		}
	}
	if cs[0].Kind != "key" || cs[0].Name != "soft" || cs[0].Spend != 1.2 || cs[1].Kind != "team" || cs[1].ID != "st" ||
		!strings.HasPrefix(cs[0].Message(), "Soft Budget Crossed: Total Soft Budget: `1`") {
		t.Fatalf("crossings: %+v", cs)
	}
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e != nil {
		t.Fatalf("a soft budget never refuses: %+v", e)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		k, err := ks.GetKey(ctx, tok)
		must(t, err)
		if k.SoftBudgetCooldown {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("soft_budget_cooldown not stored")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Record(SpendEvent{KeyToken: tok, TeamID: "st", Cost: 0.6})
	select {
	case c := <-got:
		t.Fatalf("a second crossing in one period: %+v", c)
	case <-time.After(100 * time.Millisecond):
	}
	if n := s.SoftBudgetCrossings(); n != 2 {
		t.Fatalf("crossings counted: %d", n)
	}
}

// model_info.access_groups: a key whose models name a group may call the
// group's model groups, and only those.
func TestAccessGroups(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	s.SetAccessGroups(map[string][]string{"beta": {"gpt-x", "claude-x"}})
	key := generate(t, s, `{"models":["beta"]}`)
	tok := keystore.HashKey(key)
	for _, m := range []string{"gpt-x", "claude-x"} {
		if _, e := s.Authorize(ctx, tok, key, []string{m, m}); e != nil {
			t.Fatalf("%s through the access group: %+v", m, e)
		}
	}
	if _, e := s.Authorize(ctx, tok, key, []string{"other", "other"}); e == nil || e.Type != "key_model_access_denied" {
		t.Fatalf("a model outside the group: %+v", e)
	}
	call(t, s, "POST", "/team/new", `{"team_id":"g","models":["beta"]}`)
	tk := generate(t, s, `{"team_id":"g"}`)
	if _, e := s.Authorize(ctx, keystore.HashKey(tk), tk, []string{"gpt-x", "gpt-x"}); e != nil {
		t.Fatalf("a team's access group: %+v", e)
	}
	s.SetAccessGroups(nil) // a reload that drops the group
	if _, e := s.Authorize(ctx, tok, key, []string{"gpt-x", "gpt-x"}); e == nil {
		t.Fatal("the group still granted access after it was removed")
	}
}

// TestSpendTags (D78): an answered request's key tags go into its spend
// log's request_tags, and /spend/tags sums spend and logs per tag as
// LiteLLM's get_spend_by_tags (individual_request_tag, log_count,
// total_spend), the largest spend first; a key without tags adds none.
func TestSpendTags(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	tagged := keystore.HashKey(generate(t, s, `{"tags":["prod","app-a"]}`))
	other := keystore.HashKey(generate(t, s, `{"metadata":{"tags":["prod"]}}`))
	plain := keystore.HashKey(generate(t, s, `{}`))
	for i, c := range []struct {
		tok  string
		cost float64
	}{{tagged, 0.5}, {tagged, 0.25}, {other, 2}, {plain, 4}} {
		s.OnTry(outcome.Try{CallID: fmt.Sprint("r", i), KeyHash: c.tok, CostKnown: true, Cost: c.cost, Status: 200, Start: clock})
	}
	must(t, s.flush(ctx))
	st, out := s.Handle(ctx, "GET", "/spend/tags", nil, Caller{Admin: true})
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil || st != 200 {
		t.Fatalf("/spend/tags: %d %s", st, out)
	}
	if len(rows) != 2 || rows[0]["individual_request_tag"] != "prod" || rows[0]["log_count"] != 3.0 || rows[0]["total_spend"] != 2.75 ||
		rows[1]["individual_request_tag"] != "app-a" || rows[1]["log_count"] != 2.0 || rows[1]["total_spend"] != 0.75 {
		t.Fatalf("/spend/tags: %s", out)
	}
	if st, _ := s.Handle(ctx, "GET", "/spend/tags", nil, Caller{Token: tagged}); st != 401 {
		t.Fatalf("/spend/tags with a virtual key: %d", st)
	}
}

// TestRequestTagsOrder (D84): a spend log's request_tags in LiteLLM's
// order: the request's early tags (metadata.tags, x-litellm-tags), the key's
// metadata.tags, its team's metadata.tags, the late ones (the body's tags,
// the deployment's), each once, then the two "User-Agent: …" tags.
func TestRequestTagsOrder(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	team := call(t, s, "POST", "/team/new", `{"team_alias":"blue","metadata":{"tags":["team-a","key-a"]}}`)
	tok := keystore.HashKey(generate(t, s, `{"team_id":"`+team["team_id"].(string)+`","metadata":{"tags":["key-a","early-a"]}}`))
	s.OnTry(outcome.Try{CallID: "r1", KeyHash: tok, TeamID: team["team_id"].(string), CostKnown: true, Cost: 1, Status: 200, Start: clock,
		Tags: []string{"early-a", "early-b"}, LateTags: []string{"late-a", "team-a", "dep-a"}, UserAgent: "OpenAI/Go 1.8.2"})
	s.OnTry(outcome.Try{CallID: "r2", KeyHash: tok, CostKnown: true, Cost: 1, Status: 200, Start: clock, UserAgent: "curl"})
	must(t, s.flush(ctx))
	logs, err := s.o.Store.SpendLogsWhere(ctx, keystore.SpendLogFilter{RequestID: "r1"})
	must(t, err)
	want := []string{"early-a", "early-b", "key-a", "team-a", "late-a", "dep-a", "User-Agent: OpenAI", "User-Agent: OpenAI/Go 1.8.2"}
	if len(logs) != 1 || !slices.Equal(logs[0].RequestTags, want) {
		t.Fatalf("request_tags %v, want %q", logs, want)
	}
	logs, err = s.o.Store.SpendLogsWhere(ctx, keystore.SpendLogFilter{RequestID: "r2"})
	must(t, err)
	if want := []string{"key-a", "early-a", "team-a", "User-Agent: curl"}; len(logs) != 1 || !slices.Equal(logs[0].RequestTags, want) {
		t.Fatalf("request_tags %v, want %q", logs, want)
	}
}
