package services

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The services llmgate reports (LiteLLM's ServiceTypes values).
const (
	Redis    = "redis"
	Postgres = "postgres"
	Self     = "self" // each successful LLM call (LiteLLM's ServiceTypes.LITELLM)
)

// maxFailureSeries bounds the failed-requests series of a service: past it
// a new error class and function pair is counted as ("other", "other").
// The classes and functions come from llmgate's own code (command names,
// SQL verbs, a fixed set of classes), so the bound is a safety net.
const maxFailureSeries = 64

// Metrics are the service metrics of one registry.
type Metrics struct {
	byName map[string]*service
}

type service struct {
	name    string
	latency prometheus.Observer
	total   prometheus.Counter
	failed  *prometheus.CounterVec

	mu       sync.Mutex
	failures map[[2]string]prometheus.Counter
}

// New registers the metrics of Redis, PostgreSQL and "self" in reg, with
// the latency buckets given (LiteLLM's LATENCY_BUCKETS).
func New(reg prometheus.Registerer, buckets []float64) *Metrics {
	m := &Metrics{byName: map[string]*service{}}
	for _, name := range []string{Redis, Postgres, Self} {
		// LiteLLM's PrometheusServicesLogger: the label is named after the
		// service and carries its name.
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "litellm_" + name + "_latency",
			Help: "Latency for " + name + " service", Buckets: buckets}, []string{name})
		f := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "litellm_" + name + "_failed_requests_total",
			Help: "Total failed_requests for " + name + " service"}, []string{name, "error_class", "function_name"})
		t := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "litellm_" + name + "_total_requests_total",
			Help: "Total total_requests for " + name + " service"}, []string{name})
		reg.MustRegister(h, f, t)
		m.byName[name] = &service{name: name, latency: h.WithLabelValues(name), total: t.WithLabelValues(name), failed: f,
			failures: map[[2]string]prometheus.Counter{}}
	}
	return m
}

// Success records a call that succeeded: its latency and one request.
func (m *Metrics) Success(name string, d time.Duration) {
	s := m.byName[name]
	if s == nil {
		return
	}
	s.latency.Observe(d.Seconds())
	s.total.Inc()
}

// Failure records a call that failed: one failed request of its class and
// function, and one request (LiteLLM's async_service_failure_hook observes
// no latency).
func (m *Metrics) Failure(name, errorClass, function string) {
	s := m.byName[name]
	if s == nil {
		return
	}
	k := [2]string{errorClass, function}
	s.mu.Lock()
	c, ok := s.failures[k]
	if !ok {
		if len(s.failures) >= maxFailureSeries {
			k = [2]string{"other", "other"}
			c, ok = s.failures[k]
		}
		if !ok {
			c = s.failed.WithLabelValues(s.name, k[0], k[1])
			s.failures[k] = c
		}
	}
	s.mu.Unlock()
	c.Inc()
	s.total.Inc()
}

// Hooks is where the Redis hook and the PostgreSQL tracer report: nothing
// is recorded until Set is given the metrics (the clients open before the
// metrics start). The zero value is ready.
type Hooks struct {
	m atomic.Pointer[Metrics]
}

// Set starts (or, with nil, stops) recording into m.
func (h *Hooks) Set(m *Metrics) { h.m.Store(m) }

// Metrics are the metrics recorded into, nil when off.
func (h *Hooks) Metrics() *Metrics { return h.m.Load() }
