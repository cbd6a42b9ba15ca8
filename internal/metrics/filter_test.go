package metrics

import (
	"slices"
	"testing"

	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/outcome"
)

// TestMetricsConfig (D91): prometheus_metrics_config serves only the metrics
// it lists (LiteLLM's enabled_metrics; the others are NoOpMetrics), each
// with the labels its group's include_labels keep, in LiteLLM's order (the
// series of tries that differ only in a label left out add up); the budget
// gauges the same, the last key with the labels kept shown. With
// prometheus_emit_stream_label litellm_proxy_total_requests_metric has
// "stream" ("True"/"False"), and no other metric has it.
func TestMetricsConfig(t *testing.T) {
	for _, noCache := range []bool{false, true} {
		m := New(Options{
			Enabled: map[string]bool{"litellm_proxy_total_requests_metric": true, "litellm_spend_metric": true,
				"litellm_remaining_api_key_budget_metric": true},
			IncludeLabels: map[string][]string{"litellm_proxy_total_requests_metric": {"stream", "status_code", "requested_model"},
				"litellm_remaining_api_key_budget_metric": {"api_key_alias"}},
			EmitStreamLabel: true,
		})
		m.noCache = noCache
		m.Observe(try(func(t *outcome.Try) { t.KeyHash = "k1" }))
		m.Observe(try(func(t *outcome.Try) { t.KeyHash = "k2" }))
		m.Observe(try(func(t *outcome.Try) { t.Stream = true }))
		m.Observe(try(func(t *outcome.Try) { t.Status, t.ErrorClass = 500, "InternalServerError" }))
		ten := 10.0
		m.ServeBudgets(func() (ks, ts, us []keys.BudgetView) {
			return []keys.BudgetView{{ID: "h1", Alias: "ci", MaxBudget: &ten, Spend: 1}, {ID: "h2", Alias: "ci", MaxBudget: &ten, Spend: 4}}, nil, nil
		})
		mfs, err := m.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var litellm []string
		for _, mf := range mfs {
			if n := mf.GetName(); len(n) > 8 && n[:8] == "litellm_" {
				litellm = append(litellm, n)
			}
		}
		if want := []string{"litellm_proxy_total_requests_metric_total", "litellm_remaining_api_key_budget_metric", "litellm_spend_metric_total"}; !slices.Equal(litellm, want) {
			t.Errorf("noCache=%v: metrics served %v, want %v", noCache, litellm, want)
		}
		total := gather(t, m, "litellm_proxy_total_requests_metric_total")
		got := map[string]float64{}
		for _, mt := range total {
			var names, key []string
			for _, l := range mt.GetLabel() {
				names = append(names, l.GetName())
				key = append(key, l.GetValue())
			}
			if !slices.Equal(names, []string{"requested_model", "status_code", "stream"}) {
				t.Errorf("labels %v, want requested_model, status_code, stream", names)
			}
			got[key[1]+"/"+key[2]] = mt.GetCounter().GetValue()
		}
		if want := map[string]float64{"200/False": 2, "200/True": 1, "500/False": 1}; len(got) != 3 || got["200/False"] != 2 || got["200/True"] != 1 || got["500/False"] != 1 {
			t.Errorf("noCache=%v: series %v, want %v", noCache, got, want)
		}
		for _, mt := range gather(t, m, "litellm_spend_metric_total") {
			if hasLabel(mt, "stream", "False") || len(mt.GetLabel()) != 14 {
				t.Errorf("spend labels %v: want LiteLLM's 14, no stream", mt.GetLabel())
			}
		}
		budget := gather(t, m, "litellm_remaining_api_key_budget_metric")
		if len(budget) != 1 || len(budget[0].GetLabel()) != 1 || budget[0].GetGauge().GetValue() != 6 {
			t.Errorf("budget series %v, want one {api_key_alias=ci} 6 (the last key's)", budget)
		}
	}
}

// TestNoEndUser (D91): with disable_end_user_cost_tracking_prometheus_only
// (or disable_end_user_cost_tracking) no series carries the request's end
// user (LiteLLM's get_end_user_id_for_cost_tracking answers None for
// Prometheus); the counts are unchanged.
func TestNoEndUser(t *testing.T) {
	for _, noEndUser := range []bool{false, true} {
		m := New(Options{NoEndUser: noEndUser})
		m.Observe(try(func(t *outcome.Try) { t.EndUser = "cust-1" }))
		m.Observe(try(func(t *outcome.Try) { t.EndUser, t.Status, t.ErrorClass = "cust-1", 500, "InternalServerError" }))
		m.Observe(outcome.Try{EndUser: "cust-1", Status: 429, ErrorClass: "HTTPException", Refused: true, Answer: outcome.AnswerSent})
		want := 3.0
		if noEndUser {
			want = 0
		}
		if got := sumVec(t, m, "litellm_proxy_total_requests_metric_total", "end_user", "cust-1"); got != want {
			t.Errorf("noEndUser=%v: %v requests of cust-1, want %v", noEndUser, got, want)
		}
		if got := sumVec(t, m, "litellm_proxy_total_requests_metric_total", "", ""); got != 3 {
			t.Errorf("noEndUser=%v: %v requests, want 3", noEndUser, got)
		}
		if got := sumVec(t, m, "litellm_spend_metric_total", "end_user", "cust-1"); (got > 0) == noEndUser {
			t.Errorf("noEndUser=%v: spend of cust-1 %v", noEndUser, got)
		}
	}
}
