package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/callbacks"
)

// healthServices are the services LiteLLM's /health/services accepts.
var healthServices = []string{"slack_budget_alerts", "email", "langfuse", "langfuse_otel", "slack", "openmeter", "webhook", "braintrust",
	"otel", "custom_callback_api", "langsmith", "datadog", "datadog_metrics", "datadog_llm_observability", "generic_api", "arize", "sqs"}

// callbackServiceCheck answers /health/services for the logging callbacks
// as LiteLLM does (D79): a service outside LiteLLM's list is a 400;
// generic_api, openmeter, braintrust and a callback the success lists name
// get a mock request logged by every success callback; langfuse checks
// its credentials against its host first (a failure is LiteLLM's 500
// "Authentication Error, …"). ok is false for the services it leaves to
// serviceCheck.
func (g *Gateway) callbackServiceCheck(cfg *config.Config, service string) (status int, body any, ok bool) {
	if !slices.Contains(healthServices, service) {
		return http.StatusBadRequest, fmt.Sprintf("Service must be in list. Service=%s not in [%s]", service, strings.Join(healthServices, ", ")), true
	}
	g.mu.Lock()
	cb := g.callbacks
	g.mu.Unlock()
	success, _ := cfg.LiteLLM.CallbackEvents(service)
	mock := func() (int, any, bool) {
		if cb != nil {
			cb.TestEvent()
		}
		return http.StatusOK, map[string]any{"status": "success", "message": "Mock LLM request made - check " + service + "."}, true
	}
	switch {
	case service == "langfuse":
		if cb == nil {
			return http.StatusInternalServerError, "Authentication Error, langfuse: LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are not set", true
		}
		ctx, cancel := context.WithTimeout(context.Background(), callbacks.PostTimeout)
		defer cancel()
		if err := cb.LangfuseAuthCheck(ctx); err != nil {
			return http.StatusInternalServerError, "Authentication Error, " + err.Error(), true
		}
		return mock()
	case service == "generic_api" || service == "openmeter" || service == "braintrust":
		return mock()
	case success && service != "slack" && service != "slack_budget_alerts":
		return mock()
	}
	return 0, nil, false
}

// ensureServiceMetrics follows service_callback: with "prometheus_system"
// LiteLLM's service metrics are registered (once) and the Redis and
// PostgreSQL clients and the metrics sink ("self") record into them; a
// reload without it stops the recording (the series already served stay
// until a restart).
func (g *Gateway) ensureServiceMetrics(cfg *config.Config) {
	if !cfg.LiteLLM.PrometheusSystem {
		g.serviceHooks.Set(nil)
		g.metrics.StopServices()
		return
	}
	g.serviceHooks.Set(g.metrics.Services(cfg.LiteLLM.PrometheusLatencyBuckets))
}
