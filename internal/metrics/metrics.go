package metrics

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	mn "github.com/llmgate/llmgate/internal/metricnames"
	"github.com/llmgate/llmgate/internal/metrics/services"
	"github.com/llmgate/llmgate/internal/outcome"
)

// LatencyBuckets are LiteLLM's LATENCY_BUCKETS in seconds (+Inf implied).
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 420, 600}

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
	ln           labelSets
	custom       *custom
	noEndUser    bool
	budgetFilter budgetFilter

	// services, when service_callback names prometheus_system, counts
	// each successful LLM call as LiteLLM's "self" service.
	services     atomic.Pointer[services.Metrics]
	servicesMade *services.Metrics // under extraMu

	extraMu sync.Mutex
	extra   []prometheus.Gatherer // served after the registry (Envoy's stats)

	// whole makes a try's update one step for a scrape: Observe holds it
	// shared, the scrape gathers the registry holding it alone. Prometheus
	// gathers the families one at a time, so a scrape taken while a burst
	// of tries is observed showed some of them in the output tokens and
	// not in the input tokens (docs/architecture.md D167).
	whole sync.RWMutex

	mu       sync.Mutex
	cooldown map[string]time.Time // deployment id → cooldown deadline last seen
	// success caches the series of successful tries by identity (cache.go);
	// noCache turns it off (tests compare both ways).
	success map[identity]*successChildren
	noCache bool
}

// labelSets are the label names of each metric a try feeds: LiteLLM's, the
// custom labels (labels.go), "stream" (prometheus_emit_stream_label), kept
// as prometheus_metrics_config's include_labels says.
type labelSets struct {
	totalRequests, failedRequests, requests, spend, inputTokens, outputTokens, totalTokens []string
	totalLatency, apiLatency, ttft, overhead, perToken                                     []string
	depSuccess, depFailure, depTotal, depCooledDown, depState, remainingRequests           []string
	remainingTokens                                                                        []string
}

// New builds the metrics (Options: the latency buckets, the dropped events'
// count, the custom labels, the metrics and labels served).
func New(o Options) *Metrics {
	buckets, dropped := o.Buckets, o.Dropped
	if len(buckets) == 0 {
		buckets = LatencyBuckets
	}
	m := &Metrics{reg: prometheus.NewRegistry(), now: time.Now, cooldown: map[string]time.Time{}, success: map[identity]*successChildren{}}
	m.custom = newCustom(o)
	m.noEndUser = o.NoEndUser
	// labels are a metric's label names (LiteLLM's PrometheusMetricLabels.get_labels,
	// then its label_filters); custom: the metric carries the custom labels.
	labels := func(name string, custom bool) []string {
		def := mn.Served[name]
		l := def[:len(def):len(def)]
		if custom {
			l = append(l, m.custom.names...)
		}
		if name == mn.TotalRequestsMetric && o.EmitStreamLabel {
			l = append(l, "stream")
		}
		if keep, ok := o.IncludeLabels[name]; ok {
			l = slices.DeleteFunc(slices.Clone(l), func(s string) bool { return !slices.Contains(keep, s) })
		}
		return l
	}
	m.ln = labelSets{totalRequests: labels(mn.TotalRequestsMetric, true), failedRequests: labels("litellm_proxy_failed_requests_metric", true),
		requests: labels("litellm_requests_metric", true), spend: labels("litellm_spend_metric", true),
		inputTokens: labels("litellm_input_tokens_metric", true), outputTokens: labels("litellm_output_tokens_metric", true),
		totalTokens: labels("litellm_total_tokens_metric", true), totalLatency: labels("litellm_request_total_latency_metric", true),
		apiLatency: labels("litellm_llm_api_latency_metric", true), ttft: labels("litellm_llm_api_time_to_first_token_metric", true),
		overhead: labels("litellm_overhead_latency_metric", true), perToken: labels("litellm_deployment_latency_per_output_token", true),
		depSuccess: labels("litellm_deployment_success_responses", true), depFailure: labels("litellm_deployment_failure_responses", true),
		depTotal: labels("litellm_deployment_total_requests", true), depCooledDown: labels("litellm_deployment_cooled_down", false),
		depState: labels("litellm_deployment_state", false), remainingRequests: labels("litellm_remaining_requests_metric", true),
		remainingTokens: labels("litellm_remaining_tokens_metric", true)}
	ln := m.ln
	// register serves a metric unless prometheus_metrics_config leaves it
	// out (LiteLLM's NoOpMetric): a metric not served is still recorded,
	// unseen.
	register := func(name string, c prometheus.Collector) {
		if o.Enabled == nil || o.Enabled[name] {
			m.reg.MustRegister(c)
		}
	}
	// Counters carry the _total suffix that LiteLLM's Python client adds
	// when it exposes them, so that queries and dashboards carry over.
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name + "_total", Help: help}, labels)
		register(name, c)
		return c
	}
	gauge := func(name, help string, labels []string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		register(name, g)
		return g
	}
	histogram := func(name, help string, labels []string, b []float64) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: b}, labels)
		register(name, h)
		return h
	}
	m.totalRequests = counter(mn.TotalRequestsMetric, "Total number of requests made to the proxy server - track number of client side requests", ln.totalRequests)
	m.failedRequests = counter("litellm_proxy_failed_requests_metric", "Total number of failed responses from proxy - the client did not get a success response from litellm proxy", ln.failedRequests)
	m.requests = counter("litellm_requests_metric", "deprecated - use litellm_proxy_total_requests_metric. Total number of LLM calls to litellm - track total per API Key, team, user", ln.requests)
	m.inputTokens = counter("litellm_input_tokens_metric", "Total number of input tokens from LLM requests", ln.inputTokens)
	m.outputTokens = counter("litellm_output_tokens_metric", "Total number of output tokens from LLM requests", ln.outputTokens)
	m.totalTokens = counter("litellm_total_tokens_metric", "Total number of input + output tokens from LLM requests", ln.totalTokens)
	m.spend = counter("litellm_spend_metric", "Total spend on LLM requests", ln.spend)
	m.totalLatency = histogram("litellm_request_total_latency_metric", "Total latency (seconds) for a request to LiteLLM", ln.totalLatency, buckets)
	m.apiLatency = histogram("litellm_llm_api_latency_metric", "Total latency (seconds) for a models LLM API call", ln.apiLatency, buckets)
	m.ttft = histogram("litellm_llm_api_time_to_first_token_metric", "Time to first token for a models LLM API call", ln.ttft, buckets)
	m.overhead = histogram("litellm_overhead_latency_metric", "Latency overhead (seconds) added by the gateway's processing", ln.overhead, buckets)
	m.perOutputToken = histogram("litellm_deployment_latency_per_output_token", "LLM Deployment Analytics - Latency per output token", ln.perToken, prometheus.DefBuckets)
	m.depSuccess = counter("litellm_deployment_success_responses", "LLM Deployment Analytics - Total number of successful LLM API calls via litellm", ln.depSuccess)
	m.depFailure = counter("litellm_deployment_failure_responses", "LLM Deployment Analytics - Total number of failed LLM API calls for a specific LLM deploymeny. exception_status is the status of the exception from the llm api", ln.depFailure)
	m.depTotal = counter("litellm_deployment_total_requests", "LLM Deployment Analytics - Total number of LLM API calls via litellm - success + failure", ln.depTotal)
	m.depCooledDown = counter("litellm_deployment_cooled_down", "LLM Deployment Analytics - Number of times a deployment has been cooled down by LiteLLM load balancing logic. exception_status is the status of the exception that caused the deployment to be cooled down", ln.depCooledDown)
	m.depState = gauge("litellm_deployment_state", "LLM Deployment Analytics - The state of the deployment: 0 = healthy, 1 = partial outage, 2 = complete outage", ln.depState)
	m.remainingRequests = gauge("litellm_remaining_requests_metric", "LLM Deployment Analytics - remaining requests for model, returned from LLM API Provider", ln.remainingRequests)
	m.remainingTokens = gauge("litellm_remaining_tokens_metric", "remaining tokens for model, returned from LLM API Provider", ln.remainingTokens)
	m.budgetFilter = budgetFilter{enabled: o.Enabled, include: o.IncludeLabels}
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
		gs := append(append(prometheus.Gatherers{}, m.extra...), prometheus.GathererFunc(m.gatherWhole))
		m.extraMu.Unlock()
		return gs.Gather()
	})
	return promhttp.HandlerFor(all, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// gatherWhole gathers the registry between two tries (whole).
func (m *Metrics) gatherWhole() ([]*dto.MetricFamily, error) {
	m.whole.Lock()
	defer m.whole.Unlock()
	return m.reg.Gather()
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

// Services starts LiteLLM's service metrics (service_callback:
// ["prometheus_system"]) in the registry, once, and returns them: each
// successful try is then a call of the "self" service (LiteLLM's
// ServiceLogging success event: the LLM call's latency).
func (m *Metrics) Services(buckets []float64) *services.Metrics {
	m.extraMu.Lock()
	defer m.extraMu.Unlock()
	if m.servicesMade == nil {
		if len(buckets) == 0 {
			buckets = LatencyBuckets
		}
		m.servicesMade = services.New(m.reg, buckets)
	}
	m.services.Store(m.servicesMade)
	return m.servicesMade
}

// StopServices stops counting "self" calls (a reload that drops
// prometheus_system); the series already served stay.
func (m *Metrics) StopServices() { m.services.Store(nil) }

// Observe records one try, or one request refused before any try.
func (m *Metrics) Observe(t outcome.Try) {
	m.whole.RLock()
	defer m.whole.RUnlock()
	if t.Refused {
		m.observeRefused(&t)
		return
	}
	failed := t.Failed()
	if s := m.services.Load(); s != nil && !failed {
		s.Success(services.Self, t.Latency)
	}
	extra := m.custom.values(&t)
	if !failed && t.Answer == outcome.AnswerSent && !t.HasRemainingRequests && !t.HasRemainingTokens && t.CooldownUntil.IsZero() && !m.noCache {
		m.observeSuccess(&t, extra) // the common case, through the series cache (cache.go)
		return
	}
	status := exceptionStatus(&t)
	class := exceptionClass(&t)
	// The deployment's view: every try.
	dep := m.withExtra(deploymentLabelValues(&t), extra)
	ln := &m.ln
	m.depTotal.With(pick(dep, ln.depTotal)).Inc()
	state := stateLabelValues(&t)
	if failed {
		dep["exception_status"], dep["exception_class"] = status, class
		m.depFailure.With(pick(dep, ln.depFailure)).Inc()
		m.depState.With(pick(state, ln.depState)).Set(statePartialOutage)
	} else {
		m.depSuccess.With(pick(dep, ln.depSuccess)).Inc()
		m.depState.With(pick(state, ln.depState)).Set(stateHealthy)
	}
	m.cooldownEvent(&t, state, status)
	rem := m.withExtra(remainingLabelValues(&t), extra)
	if t.HasRemainingRequests {
		m.remainingRequests.With(pick(rem, ln.remainingRequests)).Set(float64(t.RemainingRequests))
	}
	if t.HasRemainingTokens {
		m.remainingTokens.With(pick(rem, ln.remainingTokens)).Set(float64(t.RemainingTokens))
	}
	user := m.withExtra(m.userLabels(&t), extra)
	if !failed {
		// LiteLLM records these on success (its success callback).
		m.apiLatency.With(pick(user, ln.apiLatency)).Observe(t.Latency.Seconds())
		if t.Stream && t.TimeToFirstToken > 0 {
			m.ttft.With(pick(user, ln.ttft)).Observe(t.TimeToFirstToken.Seconds())
		}
		m.overhead.With(pick(rem, ln.overhead)).Observe(t.Overhead.Seconds())
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
	m.requests.With(pick(user, ln.requests)).Inc()
	m.inputTokens.With(pick(user, ln.inputTokens)).Add(float64(t.PromptTokens))
	m.outputTokens.With(pick(user, ln.outputTokens)).Add(float64(t.CompletionTokens))
	m.totalTokens.With(pick(user, ln.totalTokens)).Add(float64(t.TotalTokens))
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

// stateLabelValues are the deployment state's and cooldowns' label values.
func stateLabelValues(t *outcome.Try) prometheus.Labels {
	return prometheus.Labels{"litellm_model_name": t.Model, "model_id": t.DeploymentID, "api_base": t.APIBase, "api_provider": t.Provider}
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
	m.depState.With(pick(state, m.ln.depState)).Set(stateOutage)
	m.mu.Lock()
	prev := m.cooldown[t.DeploymentID]
	m.cooldown[t.DeploymentID] = t.CooldownUntil
	m.mu.Unlock()
	if prev.Equal(t.CooldownUntil) || prev.After(m.now()) {
		return // the same cooldown, already counted
	}
	cl := stateLabelValues(t)
	cl["exception_status"] = status
	m.depCooledDown.With(pick(cl, m.ln.depCooledDown)).Inc()
}

// userLabels are the label values of the client-side series.
// end_user is "" with disable_end_user_cost_tracking(_prometheus_only);
// stream is prometheus_emit_stream_label's ("True"/"False", as Python
// writes the payload's bool).
func (m *Metrics) userLabels(t *outcome.Try) map[string]string {
	return map[string]string{"end_user": m.endUser(t), "hashed_api_key": t.KeyHash, "api_key_alias": t.KeyAlias,
		"team": t.TeamID, "team_alias": "", "user": t.UserID, "user_email": "", "org_id": "", "org_alias": "",
		"requested_model": t.RequestedModel, "model": t.Model, "model_id": t.DeploymentID, "route": t.Route,
		"client_ip": "", "user_agent": "", "api_provider": t.Provider, "stream": streamLabel(t.Stream)}
}

// endUser is the end_user label's value: the request's "user", or ""
// when LiteLLM's get_end_user_id_for_cost_tracking(service_type="prometheus")
// answers None (disable_end_user_cost_tracking or
// disable_end_user_cost_tracking_prometheus_only).
func (m *Metrics) endUser(t *outcome.Try) string {
	if m.noEndUser {
		return ""
	}
	return t.EndUser
}

func streamLabel(stream bool) string {
	if stream {
		return "True"
	}
	return "False"
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
	user := m.withExtra(map[string]string{"end_user": m.endUser(t), "hashed_api_key": t.KeyHash, "api_key_alias": t.KeyAlias,
		"team": t.TeamID, "user": t.UserID, "requested_model": t.RequestedModel, "route": t.Route,
		"status_code": status, "exception_status": status, "exception_class": t.ErrorClass, "stream": streamLabel(t.Stream)}, m.custom.values(t))
	m.failedRequests.With(pick(user, m.ln.failedRequests)).Inc()
	m.totalRequests.With(pick(user, m.ln.totalRequests)).Inc()
}
