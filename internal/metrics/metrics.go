package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/llmgate/llmgate/internal/outcome"
)

// LatencyBuckets are LiteLLM's LATENCY_BUCKETS in seconds (+Inf implied).
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 420, 600}

// Label sets, as LiteLLM's PrometheusMetricLabels name them.
var (
	// Per client request.
	totalRequestsLabels  = []string{"end_user", "hashed_api_key", "api_key_alias", "requested_model", "team", "team_alias", "user", "status_code", "user_email", "route", "client_ip", "user_agent", "model_id", "org_id", "org_alias"}
	failedRequestsLabels = []string{"end_user", "hashed_api_key", "api_key_alias", "requested_model", "team", "team_alias", "user", "user_email", "exception_status", "exception_class", "route", "client_ip", "user_agent", "model_id", "org_id", "org_alias"}
	totalLatencyLabels   = []string{"end_user", "hashed_api_key", "api_key_alias", "requested_model", "team", "team_alias", "user", "model", "model_id", "org_id", "org_alias"}
	apiLatencyLabels     = []string{"model", "hashed_api_key", "api_key_alias", "team", "team_alias", "requested_model", "end_user", "user", "model_id", "org_id", "org_alias"}
	tokenLabels          = []string{"end_user", "hashed_api_key", "api_key_alias", "model", "team", "team_alias", "user", "user_email", "requested_model", "model_id", "org_id", "org_alias"}
	spendLabels          = []string{"end_user", "hashed_api_key", "api_key_alias", "model", "team", "team_alias", "user", "user_email", "client_ip", "user_agent", "model_id", "api_provider", "org_id", "org_alias"}
	// Per deployment.
	deploymentLabels     = []string{"requested_model", "litellm_model_name", "model_id", "api_base", "api_provider", "hashed_api_key", "api_key_alias", "team", "team_alias", "client_ip", "user_agent"}
	deploymentFailLabels = []string{"requested_model", "litellm_model_name", "model_id", "api_base", "api_provider", "exception_status", "exception_class", "hashed_api_key", "api_key_alias", "team", "team_alias", "client_ip", "user_agent"}
	deploymentStateLabel = []string{"litellm_model_name", "model_id", "api_base", "api_provider"}
	cooledDownLabels     = []string{"litellm_model_name", "model_id", "api_base", "api_provider", "exception_status"}
	perTokenLabels       = []string{"litellm_model_name", "model_id", "api_base", "api_provider", "hashed_api_key", "api_key_alias", "team", "team_alias"}
	remainingLabels      = []string{"model_group", "api_provider", "api_base", "litellm_model_name", "hashed_api_key", "api_key_alias", "model_id"}
)

// Deployment states of litellm_deployment_state.
const (
	stateHealthy       = 0
	statePartialOutage = 1
	stateOutage        = 2
)

// Metrics holds the registry and LiteLLM's metrics.
type Metrics struct {
	reg *prometheus.Registry
	now func() time.Time

	totalRequests, failedRequests, requests         *prometheus.CounterVec
	inputTokens, outputTokens, totalTokens, spend   *prometheus.CounterVec
	totalLatency, apiLatency, ttft, overhead        *prometheus.HistogramVec
	perOutputToken                                  *prometheus.HistogramVec
	depSuccess, depFailure, depTotal, depCooledDown *prometheus.CounterVec
	depState, remainingRequests, remainingTokens    *prometheus.GaugeVec
	dropped                                         prometheus.CounterFunc

	// ln are the label names of the metrics a try feeds: LiteLLM's, then
	// the custom labels (labels.go).
	ln     labelSets
	custom *custom

	extraMu sync.Mutex
	extra   []prometheus.Gatherer // served after the registry (Envoy's stats)

	mu       sync.Mutex
	cooldown map[string]time.Time // deployment id → cooldown deadline last seen
	// success caches the series of successful tries by identity (cache.go);
	// noCache turns it off (tests compare both ways).
	success map[string]*successChildren
	noCache bool
}

// labelSets are the label names of the metrics a try feeds.
type labelSets struct {
	totalRequests, failedRequests, totalLatency, apiLatency, token, spend []string
	deployment, deploymentFail, perToken, remaining                       []string
}

// New builds the metrics (Options: the latency buckets, the dropped events'
// count, the custom labels).
func New(o Options) *Metrics {
	buckets, dropped := o.Buckets, o.Dropped
	if len(buckets) == 0 {
		buckets = LatencyBuckets
	}
	m := &Metrics{reg: prometheus.NewRegistry(), now: time.Now, cooldown: map[string]time.Time{}, success: map[string]*successChildren{}}
	m.custom = newCustom(o)
	with := func(l []string) []string { return append(l[:len(l):len(l)], m.custom.names...) }
	m.ln = labelSets{totalRequests: with(totalRequestsLabels), failedRequests: with(failedRequestsLabels), totalLatency: with(totalLatencyLabels),
		apiLatency: with(apiLatencyLabels), token: with(tokenLabels), spend: with(spendLabels), deployment: with(deploymentLabels),
		deploymentFail: with(deploymentFailLabels), perToken: with(perTokenLabels), remaining: with(remainingLabels)}
	ln := m.ln
	// Counters carry the _total suffix that LiteLLM's Python client adds
	// when it exposes them, so that queries and dashboards carry over.
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	gauge := func(name, help string, labels []string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		m.reg.MustRegister(g)
		return g
	}
	histogram := func(name, help string, labels []string, b []float64) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: b}, labels)
		m.reg.MustRegister(h)
		return h
	}
	m.totalRequests = counter("litellm_proxy_total_requests_metric_total", "Total number of requests made to the proxy server - track number of client side requests", ln.totalRequests)
	m.failedRequests = counter("litellm_proxy_failed_requests_metric_total", "Total number of failed responses from proxy - the client did not get a success response from litellm proxy", ln.failedRequests)
	m.requests = counter("litellm_requests_metric_total", "deprecated - use litellm_proxy_total_requests_metric. Total number of LLM calls to litellm - track total per API Key, team, user", ln.spend)
	m.inputTokens = counter("litellm_input_tokens_metric_total", "Total number of input tokens from LLM requests", ln.token)
	m.outputTokens = counter("litellm_output_tokens_metric_total", "Total number of output tokens from LLM requests", ln.token)
	m.totalTokens = counter("litellm_total_tokens_metric_total", "Total number of input + output tokens from LLM requests", ln.token)
	m.spend = counter("litellm_spend_metric_total", "Total spend on LLM requests", ln.spend)
	m.totalLatency = histogram("litellm_request_total_latency_metric", "Total latency (seconds) for a request to LiteLLM", ln.totalLatency, buckets)
	m.apiLatency = histogram("litellm_llm_api_latency_metric", "Total latency (seconds) for a models LLM API call", ln.apiLatency, buckets)
	m.ttft = histogram("litellm_llm_api_time_to_first_token_metric", "Time to first token for a models LLM API call", ln.apiLatency, buckets)
	m.overhead = histogram("litellm_overhead_latency_metric", "Latency overhead (seconds) added by the gateway's processing", ln.remaining, buckets)
	m.perOutputToken = histogram("litellm_deployment_latency_per_output_token", "LLM Deployment Analytics - Latency per output token", ln.perToken, prometheus.DefBuckets)
	m.depSuccess = counter("litellm_deployment_success_responses_total", "LLM Deployment Analytics - Total number of successful LLM API calls via litellm", ln.deployment)
	m.depFailure = counter("litellm_deployment_failure_responses_total", "LLM Deployment Analytics - Total number of failed LLM API calls for a specific LLM deploymeny. exception_status is the status of the exception from the llm api", ln.deploymentFail)
	m.depTotal = counter("litellm_deployment_total_requests_total", "LLM Deployment Analytics - Total number of LLM API calls via litellm - success + failure", ln.deployment)
	m.depCooledDown = counter("litellm_deployment_cooled_down_total", "LLM Deployment Analytics - Number of times a deployment has been cooled down by LiteLLM load balancing logic. exception_status is the status of the exception that caused the deployment to be cooled down", cooledDownLabels)
	m.depState = gauge("litellm_deployment_state", "LLM Deployment Analytics - The state of the deployment: 0 = healthy, 1 = partial outage, 2 = complete outage", deploymentStateLabel)
	m.remainingRequests = gauge("litellm_remaining_requests_metric", "LLM Deployment Analytics - remaining requests for model, returned from LLM API Provider", ln.remaining)
	m.remainingTokens = gauge("litellm_remaining_tokens_metric", "remaining tokens for model, returned from LLM API Provider", ln.remaining)
	if dropped != nil {
		m.dropped = prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "llmgate_metrics_events_dropped_total",
			Help: "Outcome events the metrics sink lost because its queue was full (the request path never waits for metrics)"}, dropped)
		m.reg.MustRegister(m.dropped)
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry the metrics live in (for extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics: Prometheus text, or OpenMetrics when the
// scraper asks for it.
func (m *Metrics) Handler() http.Handler {
	all := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		m.extraMu.Lock()
		// The extra gatherers first: a gauge in the registry may report
		// how their scrape went.
		gs := append(append(prometheus.Gatherers{}, m.extra...), m.reg)
		m.extraMu.Unlock()
		return gs.Gather()
	})
	return promhttp.HandlerFor(all, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Serve adds a gatherer whose families every scrape also shows (Envoy's
// own stats); its names must not collide with the registry's.
func (m *Metrics) Serve(g prometheus.Gatherer) {
	m.extraMu.Lock()
	defer m.extraMu.Unlock()
	m.extra = append(m.extra, g)
}

// Sink returns the bus sink that records each try.
func (m *Metrics) Sink() outcome.Sink { return m.Observe }

// exceptionClass is LiteLLM's exception_class label: "Openai.RateLimitError".
func exceptionClass(t *outcome.Try) string {
	if t.ErrorClass == "" {
		return ""
	}
	if t.Provider == "" {
		return t.ErrorClass
	}
	return strings.ToUpper(t.Provider[:1]) + t.Provider[1:] + "." + t.ErrorClass
}

// exceptionStatus is the status of a failed try: the provider's, 408 for a
// timeout without one.
func exceptionStatus(t *outcome.Try) string {
	if t.Status == 0 && t.Timeout {
		return "408"
	}
	return strconv.Itoa(t.Status)
}

// Observe records one try, or one request refused before any try.
func (m *Metrics) Observe(t outcome.Try) {
	if t.Refused {
		m.observeRefused(&t)
		return
	}
	failed := t.Failed()
	extra := m.custom.values(&t)
	if !failed && t.Answer == outcome.AnswerSent && !t.HasRemainingRequests && !t.HasRemainingTokens && t.CooldownUntil.IsZero() && !m.noCache {
		m.observeSuccess(&t, extra) // the common case, through the series cache (cache.go)
		return
	}
	status := exceptionStatus(&t)
	class := exceptionClass(&t)
	// The deployment's view: every try.
	dep := m.withExtra(deploymentLabelValues(&t), extra)
	m.depTotal.With(dep).Inc()
	state := prometheus.Labels{"litellm_model_name": t.Model, "model_id": t.DeploymentID, "api_base": t.APIBase, "api_provider": t.Provider}
	if failed {
		fl := prometheus.Labels{"exception_status": status, "exception_class": class}
		for k, v := range dep {
			fl[k] = v
		}
		m.depFailure.With(fl).Inc()
		m.depState.With(state).Set(statePartialOutage)
	} else {
		m.depSuccess.With(dep).Inc()
		m.depState.With(state).Set(stateHealthy)
	}
	m.cooldownEvent(&t, state, status)
	rem := m.withExtra(remainingLabelValues(&t), extra)
	if t.HasRemainingRequests {
		m.remainingRequests.With(rem).Set(float64(t.RemainingRequests))
	}
	if t.HasRemainingTokens {
		m.remainingTokens.With(rem).Set(float64(t.RemainingTokens))
	}
	user := m.withExtra(userLabels(&t), extra)
	ln := &m.ln
	if !failed {
		// LiteLLM records these on success (its success callback).
		m.apiLatency.With(pick(user, ln.apiLatency)).Observe(t.Latency.Seconds())
		if t.Stream && t.TimeToFirstToken > 0 {
			m.ttft.With(pick(user, ln.apiLatency)).Observe(t.TimeToFirstToken.Seconds())
		}
		m.overhead.With(rem).Observe(t.Overhead.Seconds())
		if t.CompletionTokens > 0 {
			m.perOutputToken.With(pick(dep, ln.perToken)).Observe(t.Latency.Seconds() / float64(t.CompletionTokens))
		}
	}
	if t.Answer == outcome.AnswerRetried {
		return
	}
	// The client's view: the try whose answer the client got.
	user["status_code"] = "200"
	if failed {
		user["status_code"] = status
		user["exception_status"], user["exception_class"] = status, class
		m.failedRequests.With(pick(user, ln.failedRequests)).Inc()
		m.totalRequests.With(pick(user, ln.totalRequests)).Inc()
		return
	}
	m.totalRequests.With(pick(user, ln.totalRequests)).Inc()
	m.requests.With(pick(user, ln.spend)).Inc()
	tok := pick(user, ln.token)
	m.inputTokens.With(tok).Add(float64(t.PromptTokens))
	m.outputTokens.With(tok).Add(float64(t.CompletionTokens))
	m.totalTokens.With(tok).Add(float64(t.TotalTokens))
	if t.CostKnown {
		m.spend.With(pick(user, ln.spend)).Add(t.Cost)
	}
	if !t.Start.IsZero() && !t.End.IsZero() && t.End.After(t.Start) {
		m.totalLatency.With(pick(user, ln.totalLatency)).Observe(t.End.Sub(t.Start).Seconds())
	}
}

// deploymentLabelValues are the deployment-side series' label values.
func deploymentLabelValues(t *outcome.Try) prometheus.Labels {
	return prometheus.Labels{"requested_model": t.ModelGroup, "litellm_model_name": t.Model, "model_id": t.DeploymentID,
		"api_base": t.APIBase, "api_provider": t.Provider, "hashed_api_key": t.KeyHash, "api_key_alias": t.KeyAlias,
		"team": t.TeamID, "team_alias": "", "client_ip": "", "user_agent": ""}
}

// remainingLabelValues are the overhead and remaining-limit series' label values.
func remainingLabelValues(t *outcome.Try) prometheus.Labels {
	return prometheus.Labels{"model_group": t.ModelGroup, "api_provider": t.Provider, "api_base": t.APIBase,
		"litellm_model_name": t.Model, "hashed_api_key": t.KeyHash, "api_key_alias": t.KeyAlias, "model_id": t.DeploymentID}
}

// withExtra adds the custom labels' values to l.
func (m *Metrics) withExtra(l map[string]string, extra []string) map[string]string {
	for i, v := range extra {
		l[m.custom.names[i]] = v
	}
	return l
}

// cooldownEvent counts a cooldown the first time a try reports its deadline,
// and marks the deployment as in complete outage while it lasts.
func (m *Metrics) cooldownEvent(t *outcome.Try, state prometheus.Labels, status string) {
	if t.CooldownUntil.IsZero() || !t.CooldownUntil.After(m.now()) {
		return
	}
	m.depState.With(state).Set(stateOutage)
	m.mu.Lock()
	prev := m.cooldown[t.DeploymentID]
	m.cooldown[t.DeploymentID] = t.CooldownUntil
	m.mu.Unlock()
	if prev.Equal(t.CooldownUntil) || prev.After(m.now()) {
		return // the same cooldown, already counted
	}
	m.depCooledDown.With(prometheus.Labels{"litellm_model_name": t.Model, "model_id": t.DeploymentID,
		"api_base": t.APIBase, "api_provider": t.Provider, "exception_status": status}).Inc()
}

// userLabels are the label values of the client-side series.
func userLabels(t *outcome.Try) map[string]string {
	return map[string]string{"end_user": t.EndUser, "hashed_api_key": t.KeyHash, "api_key_alias": t.KeyAlias,
		"team": t.TeamID, "team_alias": "", "user": t.UserID, "user_email": "", "org_id": "", "org_alias": "",
		"requested_model": t.RequestedModel, "model": t.Model, "model_id": t.DeploymentID, "route": t.Route,
		"client_ip": "", "user_agent": "", "api_provider": t.Provider}
}

func pick(from map[string]string, names []string) prometheus.Labels {
	l := make(prometheus.Labels, len(names))
	for _, n := range names {
		l[n] = from[n]
	}
	return l
}

// observeRefused counts a request the gateway refused before any try as
// LiteLLM's post-call failure hook does: one failed and one total client
// request, labelled by key, requested model, route and the refusal's status
// and exception class. A 401 is not counted (LiteLLM skips requests with an
// invalid key, so that guessing keys does not make series); no deployment
// metric moves.
func (m *Metrics) observeRefused(t *outcome.Try) {
	if t.Status == 401 {
		return
	}
	status := strconv.Itoa(t.Status)
	user := m.withExtra(map[string]string{"end_user": t.EndUser, "hashed_api_key": t.KeyHash, "api_key_alias": t.KeyAlias,
		"team": t.TeamID, "user": t.UserID, "requested_model": t.RequestedModel, "route": t.Route,
		"status_code": status, "exception_status": status, "exception_class": t.ErrorClass}, m.custom.values(t))
	m.failedRequests.With(pick(user, m.ln.failedRequests)).Inc()
	m.totalRequests.With(pick(user, m.ln.totalRequests)).Inc()
}
