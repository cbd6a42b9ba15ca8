package keys

import (
	"context"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// LiteLLM's admin spend views over LiteLLM_SpendLogs (D146):
// /global/spend/logs (its MonthlyGlobalSpend and MonthlyGlobalSpendPerKey
// views), /global/spend/teams, POST /global/spend/end_users and
// /global/spend/tags, with their query parameters and JSON. Master key only,
// as the other spend routes here.

func init() {
	for _, r := range []string{"/global/spend/logs", "/global/spend/teams", "/global/spend/tags"} {
		spendRoutes[r] = true
		getRoutes["spend"+r] = true
	}
	spendRoutes["/global/spend/end_users"] = true // POST, a JSON body
}

// last30Days is LiteLLM's `"startTime" >= CURRENT_DATE - INTERVAL '30 days'`.
func (s *Service) last30Days() time.Time {
	return s.now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -30)
}

// globalSpendLogs is GET /global/spend/logs: the spend of each UTC day of
// the last 30, oldest first ([{date, spend}]); with api_key (a key's hash)
// that key's ([{date, spend, api_key}]).
func (s *Service) globalSpendLogs(ctx context.Context, q url.Values) (any, *Error) {
	key := q.Get("api_key")
	sums, err := s.o.Store.SpendBy(ctx, keystore.SpendLogFilter{Start: s.last30Days(), Token: key}, "day")
	if err != nil {
		return nil, storeError(err)
	}
	days := make([]string, 0, len(sums))
	for d := range sums {
		days = append(days, d)
	}
	sort.Strings(days)
	out := make([]any, 0, len(days))
	for _, d := range days {
		row := map[string]any{"date": d, "spend": sums[d]}
		if key != "" {
			row["api_key"] = key
		}
		out = append(out, row)
	}
	return out, nil
}

// globalSpendTeams is GET /global/spend/teams: each day's spend per team
// alias ("Unassigned" for the logs of no team, or of a team without an
// alias), rounded to cents, the aliases, and the ten aliases that spent
// most — LiteLLM's shape for its admin UI.
func (s *Service) globalSpendTeams(ctx context.Context) (any, *Error) {
	sums, err := s.o.Store.SpendBy(ctx, keystore.SpendLogFilter{Start: s.last30Days()}, "day_team")
	if err != nil {
		return nil, storeError(err)
	}
	byDay := map[string]map[string]float64{}
	aliases := map[string]bool{}
	for k, v := range sums {
		if len(k) < 10 {
			continue
		}
		day, teamID := k[:10], k[10:]
		alias := "Unassigned"
		if t, _, ok := s.team(teamID); ok && teamID != "" && t.TeamAlias != "" {
			alias = t.TeamAlias
		}
		if byDay[day] == nil {
			byDay[day] = map[string]float64{}
		}
		byDay[day][alias] += v
		aliases[alias] = true
	}
	totals := map[string]float64{}
	days := make([]string, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	sort.Strings(days)
	daily := make([]any, 0, len(days))
	for _, d := range days {
		row := map[string]any{"date": d}
		for alias, v := range byDay[d] {
			r := round(v, 2)
			row[alias] = r
			totals[alias] += r
		}
		daily = append(daily, row)
	}
	names := make([]string, 0, len(totals))
	for n := range totals {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if totals[names[i]] != totals[names[j]] {
			return totals[names[i]] > totals[names[j]]
		}
		return names[i] < names[j]
	})
	top := make([]any, 0, min(len(names), 10))
	for _, n := range names[:min(len(names), 10)] {
		top = append(top, map[string]any{"team_id": n, "total_spend": totals[n]})
	}
	return map[string]any{"daily_spend": daily, "teams": sortedKeys(aliases), "total_spend_per_team": top}, nil
}

// globalSpendEndUsers is POST /global/spend/end_users: the 100 end users
// that spent most between startTime (default 30 days ago) and endTime
// (default now), of one key when api_key is given: [{end_user,
// total_count, total_spend}].
func (s *Service) globalSpendEndUsers(ctx context.Context, req map[string]any) (any, *Error) {
	now := s.now().UTC()
	f := keystore.SpendLogFilter{Start: now.AddDate(0, 0, -30), End: now}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"startTime", &f.Start}, {"endTime", &f.End}} {
		v, ok := req[p.name]
		if !ok || v == nil {
			continue
		}
		str, _ := v.(string)
		t, ok := parseDateTime(str)
		if !ok {
			return nil, &Error{Status: 422, Type: "invalid_request_error", Code: "422", Param: "None",
				Message: p.name + ": Input should be a valid datetime"}
		}
		*p.to = t
	}
	if v, ok := req["api_key"]; ok && v != nil {
		key, isStr := v.(string)
		if !isStr {
			return nil, &Error{Status: 422, Type: "invalid_request_error", Code: "422", Param: "None", Message: "api_key: Input should be a valid string"}
		}
		f.Token = key
	}
	sums, err := s.o.Store.SpendCountBy(ctx, f, "end_user")
	if err != nil {
		return nil, storeError(err)
	}
	users := make([]string, 0, len(sums))
	for u := range sums {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool {
		if sums[users[i]].Spend != sums[users[j]].Spend {
			return sums[users[i]].Spend > sums[users[j]].Spend
		}
		return users[i] < users[j]
	})
	out := make([]any, 0, min(len(users), 100))
	for _, u := range users[:min(len(users), 100)] {
		out = append(out, map[string]any{"end_user": u, "total_count": sums[u].Count, "total_spend": sums[u].Spend})
	}
	return out, nil
}

// globalSpendTags is GET /global/spend/tags: the spend and request count
// per request tag between start_date and end_date (both days included,
// both required), of the tags named (comma-separated; "all-tags" or none:
// every tag), most first: {"spend_per_tag": [{name, spend, log_count}]}.
func (s *Service) globalSpendTags(ctx context.Context, q url.Values) (any, *Error) {
	sd, ed := q.Get("start_date"), q.Get("end_date")
	if sd == "" || ed == "" {
		return nil, &Error{Status: 400, Type: "bad_request", Code: "400", Param: "None", Message: "Please provide start_date and end_date"}
	}
	start, err1 := time.Parse("2006-01-02", sd)
	end, err2 := time.Parse("2006-01-02", ed)
	if err1 != nil || err2 != nil {
		return nil, &Error{Status: 400, Type: "bad_request", Code: "400", Param: "None", Message: "start_date and end_date must be dates (YYYY-MM-DD)"}
	}
	tags, err := s.o.Store.SpendByTag(ctx, keystore.SpendLogFilter{Start: start, End: end.AddDate(0, 0, 1)})
	if err != nil {
		return nil, storeError(err)
	}
	if t := q.Get("tags"); t != "" {
		want := map[string]bool{}
		for _, n := range strings.Split(t, ",") {
			want[n] = true
		}
		if !want["all-tags"] {
			for n := range tags {
				if !want[n] {
					delete(tags, n)
				}
			}
		}
	}
	names := make([]string, 0, len(tags))
	for n := range tags {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if tags[names[i]].Spend != tags[names[j]].Spend {
			return tags[names[i]].Spend > tags[names[j]].Spend
		}
		return names[i] < names[j]
	})
	out := make([]any, 0, len(names))
	for _, n := range names {
		out = append(out, map[string]any{"name": n, "spend": round(tags[n].Spend, 4), "log_count": tags[n].Count})
	}
	return map[string]any{"spend_per_tag": out}, nil
}

// parseDateTime reads a datetime as pydantic does for LiteLLM's bodies: RFC
// 3339 (with or without a zone: UTC), or a date.
func parseDateTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// round is Python's round(v, n) for the views' sums.
func round(v float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.RoundToEven(v*p) / p
}
