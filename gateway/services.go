package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/alerting"
)

// testAlertMessages are the messages LiteLLM's /health/services?service=slack
// sends for each alert type.
var testAlertMessages = map[string]string{
	"llm_exceptions":       "LLM Exception test alert",
	"llm_too_slow":         "LLM Too Slow test alert",
	"llm_requests_hanging": "LLM Requests Hanging test alert",
	"budget_alerts":        "Budget Alert test alert",
	"db_exceptions":        "DB Exception test alert",
	"outage_alerts":        "Outage Alert Exception test alert",
	"daily_reports":        "Daily Reports test alert",
}

// serviceCheck answers /health/services?service=NAME as LiteLLM does for
// the integrations llmgate has: "slack" posts one test alert per alert type
// that is on (to that type's webhook) and says which.
func (g *Gateway) serviceCheck(cfg *config.Config, service string) (int, any) {
	if status, body, ok := g.callbackServiceCheck(cfg, service); ok { // the logging callbacks (servicescallbacks.go)
		return status, body
	}
	g.mu.Lock()
	al := g.alerts
	g.mu.Unlock()
	switch {
	case (service == "slack" || service == "slack_budget_alerts") && cfg.General.Alerting.Slack && al != nil:
		var types []string
		for t, on := range cfg.General.Alerting.Types {
			if on {
				types = append(types, t)
			}
		}
		slices.Sort(types)
		for _, t := range types {
			msg, ok := testAlertMessages[t]
			if !ok {
				msg = "Budget Alert test alert"
			}
			al.Send(alerting.Alert{Type: t, Level: "Low", Message: msg})
		}
		// LiteLLM then runs the monthly and periodic spend reports (with
		// a database), without waiting for them; each is sent once per
		// range.
		go func() {
			al.SendMonthlySpendReport(context.Background())
			al.SendSpendReport(context.Background())
		}()
		return http.StatusOK, map[string]any{"status": "success", "alert_types": types,
			"message": "Mock Slack Alert sent, verify Slack Alert Received on your channel"}
	case service == "slack" || service == "slack_budget_alerts":
		return http.StatusUnprocessableEntity, fmt.Sprintf("%q not in proxy config: general_settings. Unable to test this.", service)
	}
	return http.StatusUnprocessableEntity, fmt.Sprintf("service %q: testing it through /health/services is not implemented yet; implemented: slack, slack_budget_alerts, langfuse, generic_api, openmeter, braintrust and the callbacks success_callback names", service)
}
