package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// general_settings' alerting keys as LiteLLM reads them: defaults, the
// webhook from the environment, per-type webhooks (one or a list, with
// os.environ/ references), and a warning for every part llmgate does not
// implement; an unknown alert type or a non-URL webhook is an error.
func TestAlertingSettings(t *testing.T) {
	base := "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o}\ngeneral_settings:\n"
	vars := map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.example/T/B/x", "HOOK2": "https://hooks.example/2"}
	env := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	cfg := mustParse(t, base+`  alerting: ["slack", "email"]
  alerting_threshold: 0.5
  alert_types: ["llm_exceptions", "outage_alerts", "llm_requests_hanging", "daily_reports", "spend_reports", "fallback_reports"]
  spend_report_frequency: 3d
  alert_to_webhook_url:
    outage_alerts: ["https://hooks.example/o1", "os.environ/HOOK2"]
    llm_exceptions: https://hooks.example/e
  alerting_args:
    outage_alert_ttl: 120
    minor_outage_alert_threshold: 2
    daily_report_frequency: 3600
    budget_alert_ttl: 60
`, env)
	a := cfg.General.Alerting
	if !a.Slack || a.Threshold != 500*time.Millisecond || a.SlackWebhookURL != vars["SLACK_WEBHOOK_URL"] ||
		a.OutageTTL != 2*time.Minute || a.MinorOutage != 2 || a.MajorOutage != DefaultMajorOutageThreshold ||
		!a.On("llm_exceptions") || a.On("llm_too_slow") || !a.On("llm_requests_hanging") || !a.On("daily_reports") || a.DailyReportFrequency != time.Hour ||
		!a.On("spend_reports") || a.SpendReportDays != 3 ||
		!slices.Equal(a.URLs["outage_alerts"], []string{"https://hooks.example/o1", "https://hooks.example/2"}) ||
		!slices.Equal(a.URLs["llm_exceptions"], []string{"https://hooks.example/e"}) {
		t.Errorf("alerting = %+v", a)
	}
	for _, w := range []string{`alerting "email": accepted, not implemented yet`, `alert type "fallback_reports": accepted, not implemented yet`,
		`alerting_args.budget_alert_ttl: accepted, not implemented yet`} {
		found := false
		for _, d := range cfg.Warnings {
			found = found || strings.Contains(d.Message, w)
		}
		if !found {
			t.Errorf("no warning %q in %v", w, cfg.Warnings)
		}
	}

	// Defaults: LiteLLM's default alert types, 300 s.
	cfg = mustParse(t, base+"  alerting: [slack]\n", env)
	a = cfg.General.Alerting
	if a.Threshold != DefaultAlertingThreshold || !a.On("llm_too_slow") || !a.On("cooldown_deployment") || a.On("new_virtual_key_created") {
		t.Errorf("defaults = %+v", a)
	}
	// Off unless alerting names slack.
	if cfg = mustParse(t, base+"  alerting_threshold: 10\n", env); cfg.General.Alerting.On("llm_exceptions") {
		t.Error("alerting on without alerting: [slack]")
	}

	for _, bad := range []string{"  alert_types: [llm_exception]\n", "  alert_to_webhook_url: {llm_exceptions: not-a-url}\n",
		"  alerting_threshold: -1\n", "  alerting_args: {minor_outage_alert_threshold: 0}\n",
		"  spend_report_frequency: 7h\n", "  spend_report_frequency: 0d\n", "  spend_report_frequency: d\n", "  spend_report_frequency: 7\n"} {
		if _, err := Parse([]byte(base+bad), "c.yaml", env); err == nil || !strings.Contains(err.Error(), "c.yaml:") {
			t.Errorf("%q: err %v, want a config error naming the file and line", bad, err)
		}
	}
}
