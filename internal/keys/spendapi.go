package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// spendRoutes are LiteLLM's spend routes served here (GET, master key).
// They read the store (LiteLLM_SpendLogs and the totals), never the request
// path; spend shows there after its batch (proxy_batch_write_at).
var spendRoutes = map[string]bool{}

func init() {
	for _, r := range []string{"/spend/logs", "/spend/keys", "/spend/users", "/global/spend", "/global/spend/keys", "/global/spend/models", "/spend/tags"} {
		spendRoutes[r] = true
		getRoutes["spend"+r] = true
	}
}

// maxSpendRows bounds the spend log rows one /spend/logs answer reads.
const maxSpendRows = 10000

// handleSpend serves the spend routes.
func (s *Service) handleSpend(ctx context.Context, path string, q url.Values) (any, *Error) {
	switch path {
	case "/spend/logs":
		return s.spendLogs(ctx, q)
	case "/spend/keys":
		s.mu.RLock()
		rows := make([]map[string]any, 0, len(s.keys))
		for t, k := range s.keys {
			rows = append(rows, keyView(k, s.spend[t], true, s.budgets[k.BudgetID]))
		}
		s.mu.RUnlock()
		sort.Slice(rows, func(i, j int) bool {
			a, b := rows[i]["spend"].(float64), rows[j]["spend"].(float64)
			if a != b {
				return a > b
			}
			return rows[i]["token"].(string) < rows[j]["token"].(string)
		})
		return rows, nil
	case "/spend/users":
		id := q.Get("user_id")
		s.mu.RLock()
		defer s.mu.RUnlock()
		out := []any{}
		if id != "" {
			if u := s.users[id]; u != nil {
				out = append(out, userView(u, s.uspnd[id]))
			}
			return out, nil
		}
		ids := make([]string, 0, len(s.users))
		for id := range s.users {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			out = append(out, userView(s.users[id], s.uspnd[id]))
		}
		return out, nil
	case "/spend/tags":
		return s.spendTags(ctx)
	case "/global/spend/logs":
		return s.globalSpendLogs(ctx, q)
	case "/global/spend/teams":
		return s.globalSpendTeams(ctx)
	case "/global/spend/tags":
		return s.globalSpendTags(ctx, q)
	case "/global/spend":
		sum, err := s.o.Store.SpendBy(ctx, keystore.SpendLogFilter{Start: s.now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -30)}, "")
		if err != nil {
			return nil, storeError(err)
		}
		return map[string]any{"spend": sum[""], "max_budget": 0.0}, nil
	case "/global/spend/keys", "/global/spend/models":
		limit, e := intParam(q, "limit", 100, 1000)
		if e != nil {
			return nil, e
		}
		by := "api_key"
		if path == "/global/spend/models" {
			by = "model"
		}
		sums, err := s.o.Store.SpendBy(ctx, keystore.SpendLogFilter{Start: s.now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -30)}, by)
		if err != nil {
			return nil, storeError(err)
		}
		names := make([]string, 0, len(sums))
		for n := range sums {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool {
			if sums[names[i]] != sums[names[j]] {
				return sums[names[i]] > sums[names[j]]
			}
			return names[i] < names[j]
		})
		out := []any{}
		for _, n := range names[:min(limit, len(names))] {
			if by == "model" {
				out = append(out, map[string]any{"model": n, "total_spend": sums[n]})
				continue
			}
			row := map[string]any{"api_key": n, "total_spend": sums[n], "key_alias": nil, "key_name": nil}
			if k, _, ok := s.Lookup(n); ok {
				row["key_alias"], row["key_name"] = nilIfEmpty(k.KeyAlias), nilIfEmpty(k.KeyName)
			}
			out = append(out, row)
		}
		return out, nil
	}
	return nil, badRequest("unknown spend route " + path)
}

func intParam(q url.Values, name string, def, limit int) (int, *Error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > limit {
		return 0, badRequest(fmt.Sprintf("%s must be a whole number between 1 and %d", name, limit))
	}
	return n, nil
}

func spendLogView(l *keystore.SpendLog) map[string]any {
	return map[string]any{"request_id": l.RequestID, "call_type": l.CallType, "api_key": l.APIKey, "spend": l.Spend,
		"total_tokens": l.TotalTokens, "prompt_tokens": l.PromptTokens, "completion_tokens": l.CompletionTokens,
		"startTime": l.StartTime.UTC().Format(time.RFC3339Nano), "endTime": l.EndTime.UTC().Format(time.RFC3339Nano),
		"request_duration_ms": l.EndTime.Sub(l.StartTime).Milliseconds(), "model": l.Model, "model_id": l.ModelID,
		"model_group": l.ModelGroup, "custom_llm_provider": l.Provider, "api_base": "", "user": l.User, "metadata": mapOrEmpty(l.Metadata),
		"cache_hit": l.CacheHit, "cache_key": l.CacheKey, "request_tags": nonNil(l.RequestTags), "team_id": nilIfEmpty(l.TeamID),
		"end_user": nilIfEmpty(l.EndUser), "status": nilIfEmpty(l.Status),
		"messages": map[string]any{}, "proxy_server_request": rawOrEmpty(l.Request), "response": rawOrEmpty(l.Response)}
}

// rawOrEmpty is a stored JSON column ({} when none).
func rawOrEmpty(b json.RawMessage) any {
	if len(b) == 0 {
		return map[string]any{}
	}
	return b
}

// spendLogs is /spend/logs: api_key (a key or its token), else request_id,
// else user_id; with start_date and end_date (YYYY-MM-DD; startTime from
// the first to the second's midnight, as LiteLLM compares) the spend per
// day, unless summarize=false.
func (s *Service) spendLogs(ctx context.Context, q url.Values) (any, *Error) {
	var f keystore.SpendLogFilter
	switch {
	case q.Get("api_key") != "":
		f.Token = tokenOf(q.Get("api_key"))
	case q.Get("request_id") != "":
		f.RequestID = q.Get("request_id")
	case q.Get("user_id") != "":
		f.UserID = q.Get("user_id")
	}
	sd, ed := q.Get("start_date"), q.Get("end_date")
	summarize := q.Get("summarize") != "false"
	f.Limit = maxSpendRows
	var start, end time.Time
	if sd != "" && ed != "" {
		var err1, err2 error
		start, err1 = time.Parse("2006-01-02", sd)
		end, err2 = time.Parse("2006-01-02", ed)
		if err1 != nil || err2 != nil || end.Before(start) || end.Sub(start) > 366*24*time.Hour {
			return nil, badRequest("start_date and end_date must be dates (YYYY-MM-DD), end_date on or after start_date, at most a year apart")
		}
		f.Start, f.End = start, end.Add(time.Millisecond)
	}
	logs, err := s.o.Store.SpendLogsWhere(ctx, f)
	if err != nil {
		return nil, storeError(err)
	}
	if f.Start.IsZero() || !summarize {
		out := make([]any, 0, len(logs))
		for i := range logs {
			out = append(out, spendLogView(&logs[i]))
		}
		return out, nil
	}
	days := map[string]map[string]any{}
	for i := range logs {
		l := &logs[i]
		d := l.StartTime.UTC().Format("2006-01-02")
		row := days[d]
		if row == nil {
			row = map[string]any{"startTime": d, "spend": 0.0, "users": map[string]float64{}, "models": map[string]float64{}}
			days[d] = row
		}
		row["spend"] = row["spend"].(float64) + l.Spend
		prev, _ := row[l.APIKey].(float64)
		row[l.APIKey] = prev + l.Spend
		row["users"].(map[string]float64)[l.User] += l.Spend
		row["models"].(map[string]float64)[l.Model] += l.Spend
	}
	names := make([]string, 0, len(days))
	for d := range days {
		names = append(names, d)
	}
	sort.Strings(names)
	out := []any{}
	for _, d := range names {
		out = append(out, days[d])
	}
	if len(names) > 0 {
		// Days after the last with spend, up to end_date, show 0.
		last, _ := time.Parse("2006-01-02", names[len(names)-1])
		for d := last.AddDate(0, 0, 1); !d.After(end); d = d.AddDate(0, 0, 1) {
			out = append(out, map[string]any{"startTime": d.Format("2006-01-02"), "spend": 0.0, "users": map[string]float64{}, "models": map[string]float64{}})
		}
	}
	return out, nil
}

// spendTags is /spend/tags (D78): the spend and log count per request tag
// over every spend log, LiteLLM's get_spend_by_tags rows
// ({individual_request_tag, log_count, total_spend}; like LiteLLM it reads
// no dates), the largest spend first, at most maxSpendRows tags.
func (s *Service) spendTags(ctx context.Context) (any, *Error) {
	tags, err := s.o.Store.SpendByTag(ctx, keystore.SpendLogFilter{})
	if err != nil {
		return nil, storeError(err)
	}
	names := make([]string, 0, len(tags))
	for n := range tags {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := tags[names[i]], tags[names[j]]
		if a.Spend != b.Spend {
			return a.Spend > b.Spend
		}
		return names[i] < names[j]
	})
	out := make([]any, 0, min(len(names), maxSpendRows))
	for _, n := range names[:min(len(names), maxSpendRows)] {
		out = append(out, map[string]any{"individual_request_tag": n, "log_count": tags[n].Count, "total_spend": tags[n].Spend})
	}
	return out, nil
}
