package e2e

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// LiteLLM's admin spend views (D146): /global/spend/logs, /global/spend/teams,
// POST /global/spend/end_users, /global/spend/tags.

func TestGlobalSpendRoutesEmbedded(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	runGlobalSpendRoutes(t, startGateway(t, keysConfig(fake.URL(), ""), "LLMGATE_DATA_DIR="+t.TempDir()))
}

func TestGlobalSpendRoutesPostgres(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	url := pgtest.Start(t).NewDatabase(t)
	runGlobalSpendRoutes(t, startGateway(t, keysConfig(fake.URL(), url)))
}

// runGlobalSpendRoutes: a key of the team "red" sends two requests for the
// end user alice, a key of no team one for bob and one without an end user
// (openai-go through Envoy); each route then answers LiteLLM's JSON over
// those spend logs, with its filters, its errors and the master key only.
func runGlobalSpendRoutes(t *testing.T, g *Gateway) {
	k := keyAPI{t, g}
	st, team := k.call("POST", "/team/new", master, `{"team_alias":"red"}`)
	if st != 200 {
		t.Fatalf("/team/new: %d %v", st, team)
	}
	red, _ := team["team_id"].(string)
	key1, hash1 := k.generate(`{"team_id":"` + red + `","tags":["t1"]}`)
	key2, hash2 := k.generate(`{"tags":["t2"]}`)
	cost := map[string]float64{}
	send := func(key, user string) {
		t.Helper()
		client := newClient(g, key)
		params := openai.ChatCompletionNewParams{Model: "gpt-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("spend views")}}
		if user != "" {
			params.User = openai.String(user)
		}
		var raw *http.Response
		if _, err := client.Chat.Completions.New(context.Background(), params, option.WithResponseInto(&raw)); err != nil {
			t.Fatalf("chat: %v", err)
		}
		c, err := strconv.ParseFloat(raw.Header.Get("x-litellm-response-cost"), 64)
		if err != nil || c <= 0 {
			t.Fatalf("x-litellm-response-cost %q", raw.Header.Get("x-litellm-response-cost"))
		}
		cost[key] += c
		cost[user] += c
		cost[""+"all"] += c
	}
	send(key1, "alice")
	send(key1, "alice")
	send(key2, "bob")
	send(key2, "")
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9 }
	get := func(path string, into any) {
		t.Helper()
		st, _, b := do(t, "GET", g.URL+path, master, "")
		if st != 200 || json.Unmarshal(b, into) != nil {
			t.Fatalf("GET %s: %d %s", path, st, b)
		}
	}
	sumDays := func(rows []map[string]any) float64 {
		var s float64
		for _, r := range rows {
			s += r["spend"].(float64)
		}
		return s
	}
	// The four logs are written after their batch.
	var days []map[string]any
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		get("/global/spend/logs", &days)
		if near(sumDays(days), cost["all"]) || time.Now().After(deadline) {
			break
		}
	}
	today := time.Now().UTC().Format("2006-01-02")

	t.Run("/global/spend/logs", func(t *testing.T) {
		if !near(sumDays(days), cost["all"]) || len(days) == 0 || len(days) > 2 || days[len(days)-1]["date"] != today || len(days[0]) != 2 {
			t.Fatalf("/global/spend/logs: %v, want [{date, spend}] by day summing to %v, the last today (%s)", days, cost["all"], today)
		}
		var one []map[string]any
		get("/global/spend/logs?api_key="+hash1, &one)
		if !near(sumDays(one), cost[key1]) || one[0]["api_key"] != hash1 {
			t.Fatalf("/global/spend/logs?api_key=: %v, want the key's %v", one, cost[key1])
		}
	})

	t.Run("/global/spend/teams", func(t *testing.T) {
		var v struct {
			Daily []map[string]any `json:"daily_spend"`
			Teams []string         `json:"teams"`
			Total []struct {
				TeamID string  `json:"team_id"`
				Spend  float64 `json:"total_spend"`
			} `json:"total_spend_per_team"`
		}
		get("/global/spend/teams", &v)
		if len(v.Teams) != 2 || v.Teams[0] != "Unassigned" || v.Teams[1] != "red" || len(v.Total) != 2 || len(v.Daily) == 0 || v.Daily[len(v.Daily)-1]["date"] != today {
			t.Fatalf("/global/spend/teams: %+v, want the teams Unassigned and red", v)
		}
		for _, tt := range v.Total {
			var daily float64
			for _, d := range v.Daily {
				f, _ := d[tt.TeamID].(float64)
				daily += f
			}
			want := cost[key1]
			if tt.TeamID == "Unassigned" {
				want = cost[key2]
			}
			if !near(daily, tt.Spend) || math.Abs(tt.Spend-want) > 0.005*float64(len(v.Daily))+1e-9 || tt.Spend != math.Round(tt.Spend*100)/100 {
				t.Fatalf("/global/spend/teams: %s total %v (daily %v), want %v rounded to cents", tt.TeamID, tt.Spend, daily, want)
			}
		}
	})

	t.Run("/global/spend/end_users", func(t *testing.T) {
		post := func(body string) (int, []map[string]any, []byte) {
			t.Helper()
			st, _, b := do(t, "POST", g.URL+"/global/spend/end_users", master, body)
			var rows []map[string]any
			_ = json.Unmarshal(b, &rows)
			return st, rows, b
		}
		st, rows, b := post(`{}`)
		if st != 200 || len(rows) != 3 {
			t.Fatalf("end users: %d %s", st, b)
		}
		want := map[string]float64{"alice": 2, "bob": 1, "": 1}
		for i, r := range rows {
			u := r["end_user"].(string)
			if r["total_count"] != want[u] || !near(r["total_spend"].(float64), cost[u]) {
				t.Fatalf("end user %q: %v, want %v requests costing %v", u, r, want[u], cost[u])
			}
			if i > 0 && r["total_spend"].(float64) > rows[i-1]["total_spend"].(float64) {
				t.Fatalf("end users not by spend, most first: %s", b)
			}
		}
		if st, rows, b := post(`{"api_key":"` + hash2 + `"}`); st != 200 || len(rows) != 2 || rows[0]["end_user"] == "alice" || rows[1]["end_user"] == "alice" {
			t.Fatalf("end users of key 2: %d %s", st, b)
		}
		if st, rows, b := post(`{"startTime":"2001-01-01T00:00:00Z","endTime":"2001-01-02"}`); st != 200 || len(rows) != 0 {
			t.Fatalf("end users in 2001: %d %s", st, b)
		}
		if st, _, b := post(`{"startTime":"yesterday"}`); st != 422 {
			t.Fatalf("a startTime that is no datetime: %d %s, want 422", st, b)
		}
		if st, _, _ := do(t, "POST", g.URL+"/global/spend/end_users", key1, `{}`); st != 401 {
			t.Fatalf("a virtual key read /global/spend/end_users: %d", st)
		}
		if st, _, _ := do(t, "GET", g.URL+"/global/spend/end_users", master, ""); st != 405 {
			t.Fatalf("GET /global/spend/end_users: %d, want 405", st)
		}
	})

	t.Run("/global/spend/tags", func(t *testing.T) {
		from := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
		var v struct {
			Tags []map[string]any `json:"spend_per_tag"`
		}
		get("/global/spend/tags?start_date="+from+"&end_date="+today+"&tags=t1,t2", &v)
		if len(v.Tags) != 2 || v.Tags[0]["log_count"] != 2.0 || v.Tags[1]["log_count"] != 2.0 {
			t.Fatalf("/global/spend/tags for t1,t2: %v", v.Tags)
		}
		for _, r := range v.Tags {
			key := key1
			if r["name"] == "t2" {
				key = key2
			}
			if r["spend"] != math.Round(cost[key]*1e4)/1e4 {
				t.Fatalf("tag %v: spend %v, want %v rounded to 4 places", r["name"], r["spend"], cost[key])
			}
		}
		get("/global/spend/tags?start_date="+from+"&end_date="+today, &v)
		if len(v.Tags) < 3 { // t1, t2 and the SDK's User-Agent tags
			t.Fatalf("/global/spend/tags, every tag: %v", v.Tags)
		}
		get("/global/spend/tags?start_date=2001-01-01&end_date=2001-01-31", &v)
		if len(v.Tags) != 0 {
			t.Fatalf("/global/spend/tags in 2001: %v", v.Tags)
		}
		st, _, b := do(t, "GET", g.URL+"/global/spend/tags", master, "")
		var e struct {
			Error struct{ Message, Type, Code string } `json:"error"`
		}
		if st != 400 || json.Unmarshal(b, &e) != nil || e.Error.Message != "Please provide start_date and end_date" || e.Error.Code != "400" {
			t.Fatalf("/global/spend/tags without dates: %d %s", st, b)
		}
		if st, _, _ := do(t, "GET", g.URL+"/global/spend/teams", key1, ""); st != 401 {
			t.Fatalf("a virtual key read /global/spend/teams: %d", st)
		}
	})
}
