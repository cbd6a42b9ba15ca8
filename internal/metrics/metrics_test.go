package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

func try(mut func(*outcome.Try)) outcome.Try {
	start := time.Unix(1000, 0)
	t := outcome.Try{CallID: "c", ModelGroup: "g", RequestedModel: "g", DeploymentID: "d1", Model: "gpt-4o", Provider: "openai",
		APIBase: "api.openai.com", Endpoint: "chat", Route: "/v1/chat/completions", Status: 200,
		PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, Cost: 0.25, CostKnown: true,
		Start: start, End: start.Add(1500 * time.Millisecond), Latency: time.Second, Overhead: 2 * time.Millisecond, Answer: outcome.AnswerSent}
	if mut != nil {
		mut(&t)
	}
	return t
}

// What LiteLLM counts, from a request that was retried once (429 on d2) and
// answered by d1, a request that failed for the client (500 on d1), and a
// streamed success.
func TestObserveCountsAsLiteLLM(t *testing.T) {
	m := New(Options{})
	m.Observe(try(func(t *outcome.Try) {
		t.DeploymentID, t.Status, t.ErrorClass, t.Answer = "d2", 429, "RateLimitError", outcome.AnswerRetried
		t.PromptTokens, t.CompletionTokens, t.TotalTokens, t.CostKnown = 0, 0, 0, false
	}))
	m.Observe(try(nil))
	m.Observe(try(func(t *outcome.Try) {
		t.Status, t.ErrorClass = 500, "InternalServerError"
		t.PromptTokens, t.CompletionTokens, t.TotalTokens, t.CostKnown = 0, 0, 0, false
	}))
	m.Observe(try(func(t *outcome.Try) { t.Stream, t.TimeToFirstToken = true, 300*time.Millisecond }))

	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"client requests 200", sumVec(t, m, "litellm_proxy_total_requests_metric_total", "status_code", "200"), 2},
		{"client requests 500", sumVec(t, m, "litellm_proxy_total_requests_metric_total", "status_code", "500"), 1},
		{"client failures", sumVec(t, m, "litellm_proxy_failed_requests_metric_total", "", ""), 1},
		{"failed 500 series", sumVec(t, m, "litellm_proxy_failed_requests_metric_total", "exception_class", "Openai.InternalServerError"), 1},
		{"deployment tries d1", sumVec(t, m, "litellm_deployment_total_requests_total", "model_id", "d1"), 3},
		{"deployment tries d2", sumVec(t, m, "litellm_deployment_total_requests_total", "model_id", "d2"), 1},
		{"deployment failures", sumVec(t, m, "litellm_deployment_failure_responses_total", "", ""), 2},
		{"deployment 429", sumVec(t, m, "litellm_deployment_failure_responses_total", "exception_class", "Openai.RateLimitError"), 1},
		{"input tokens", sumVec(t, m, "litellm_input_tokens_metric_total", "", ""), 20},
		{"output tokens", sumVec(t, m, "litellm_output_tokens_metric_total", "", ""), 10},
		{"total tokens", sumVec(t, m, "litellm_total_tokens_metric_total", "", ""), 30},
		{"spend", sumVec(t, m, "litellm_spend_metric_total", "", ""), 0.5},
		{"api latency count (successes)", histCount(t, m, "litellm_llm_api_latency_metric"), 2},
		{"api latency sum", histSum(t, m, "litellm_llm_api_latency_metric"), 2},
		{"total latency count", histCount(t, m, "litellm_request_total_latency_metric"), 2},
		{"total latency sum", histSum(t, m, "litellm_request_total_latency_metric"), 3},
		{"ttft count (streams)", histCount(t, m, "litellm_llm_api_time_to_first_token_metric"), 1},
		{"d1 healthy after its last success", gaugeOf(t, m, "litellm_deployment_state", "d1"), 0},
		{"d2 partial outage", gaugeOf(t, m, "litellm_deployment_state", "d2"), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestCooldownCountedOncePerCooldown(t *testing.T) {
	m := New(Options{})
	now := time.Unix(2000, 0)
	m.now = func() time.Time { return now }
	until := now.Add(5 * time.Second)
	for i := 0; i < 3; i++ {
		m.Observe(try(func(t *outcome.Try) { t.Status, t.ErrorClass, t.CooldownUntil = 429, "RateLimitError", until }))
	}
	if got := sumVec(t, m, "litellm_deployment_cooled_down_total", "exception_status", "429"); got != 1 {
		t.Fatalf("cooled_down = %v after one cooldown, want 1", got)
	}
	if got := gaugeOf(t, m, "litellm_deployment_state", "d1"); got != 2 {
		t.Fatalf("state = %v while cooling down, want 2", got)
	}
	now = now.Add(10 * time.Second)
	m.Observe(try(func(t *outcome.Try) {
		t.Status, t.ErrorClass, t.CooldownUntil = 500, "InternalServerError", now.Add(5*time.Second)
	}))
	if got := sumVec(t, m, "litellm_deployment_cooled_down_total", "exception_status", "500"); got != 1 {
		t.Fatalf("a second cooldown was not counted: %v", got)
	}
}

func TestCustomBucketsAndHandler(t *testing.T) {
	m := New(Options{Buckets: []float64{0.5, 2}, Dropped: func() float64 { return 3 }})
	m.Observe(try(nil))
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`litellm_request_total_latency_metric_bucket{`,
		`le="0.5"`, `le="2"`, `le="+Inf"`,
		"llmgate_metrics_events_dropped_total 3",
		"# TYPE litellm_proxy_total_requests_metric_total counter",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `le="600"`) {
		t.Error("LiteLLM's default buckets used despite custom ones")
	}
}

func gather(t *testing.T, m *Metrics, name string) []*dtoMetric {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

func sumVec(t *testing.T, m *Metrics, name, label, value string) float64 {
	var sum float64
	for _, mt := range gather(t, m, name) {
		if label != "" && !hasLabel(mt, label, value) {
			continue
		}
		sum += mt.GetCounter().GetValue()
	}
	return sum
}

func histCount(t *testing.T, m *Metrics, name string) float64 {
	var n float64
	for _, mt := range gather(t, m, name) {
		n += float64(mt.GetHistogram().GetSampleCount())
	}
	return n
}

func histSum(t *testing.T, m *Metrics, name string) float64 {
	var s float64
	for _, mt := range gather(t, m, name) {
		s += mt.GetHistogram().GetSampleSum()
	}
	return s
}

func hasLabel(mt *dtoMetric, name, value string) bool {
	for _, l := range mt.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func gaugeOf(t *testing.T, m *Metrics, name, modelID string) float64 {
	for _, mt := range gather(t, m, name) {
		if hasLabel(mt, "model_id", modelID) {
			return mt.GetGauge().GetValue()
		}
	}
	return -1
}

// Requests refused before any try count as failed client requests, as
// LiteLLM's post-call failure hook counts them; a 401 does not count, and
// no deployment metric moves.
func TestRefusedRequestsCounted(t *testing.T) {
	m := New(Options{})
	refused := func(status int, class string) outcome.Try {
		return outcome.Try{CallID: "r", RequestedModel: "nope", Route: "/v1/chat/completions", KeyHash: "h1",
			Status: status, ErrorClass: class, Answer: outcome.AnswerSent, Refused: true}
	}
	m.Observe(refused(401, "ProxyException"))
	m.Observe(refused(400, "ProxyModelNotFoundError"))
	m.Observe(refused(429, "HTTPException"))
	m.Observe(refused(400, "BudgetExceededError"))
	m.Observe(refused(413, "ProxyException"))
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"failed", sumVec(t, m, "litellm_proxy_failed_requests_metric_total", "", ""), 4},
		{"total", sumVec(t, m, "litellm_proxy_total_requests_metric_total", "", ""), 4},
		{"no 401", sumVec(t, m, "litellm_proxy_total_requests_metric_total", "status_code", "401"), 0},
		{"400", sumVec(t, m, "litellm_proxy_total_requests_metric_total", "status_code", "400"), 2},
		{"invalid model", sumVec(t, m, "litellm_proxy_failed_requests_metric_total", "exception_class", "ProxyModelNotFoundError"), 1},
		{"budget", sumVec(t, m, "litellm_proxy_failed_requests_metric_total", "exception_class", "BudgetExceededError"), 1},
		{"limit", sumVec(t, m, "litellm_proxy_failed_requests_metric_total", "exception_status", "429"), 1},
		{"key label", sumVec(t, m, "litellm_proxy_failed_requests_metric_total", "hashed_api_key", "h1"), 4},
		{"model label", sumVec(t, m, "litellm_proxy_failed_requests_metric_total", "requested_model", "nope"), 4},
		{"no deployment try", sumVec(t, m, "litellm_deployment_total_requests_total", "", ""), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}
