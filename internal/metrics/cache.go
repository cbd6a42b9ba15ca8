package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmgate/llmgate/internal/outcome"
)

// successChildren are the series one successful, answered try of a given
// identity updates (D58): resolved once per identity instead of by label
// maps on every try (a third of the metrics sink's CPU was building label
// maps and hashing them). The series are the ones Observe's label maps
// name, so the figures are the same.
type successChildren struct {
	depTotal, depSuccess                          prometheus.Counter
	depState                                      prometheus.Gauge
	apiLatency, ttft, overhead, perOutputToken    prometheus.Observer
	totalRequests, requests                       prometheus.Counter
	inputTokens, outputTokens, totalTokens, spend prometheus.Counter
	totalLatency                                  prometheus.Observer
	// dep and user are the label values of the series resolved when first
	// observed (ttft, perOutputToken, spend, totalLatency: With makes a
	// series).
	dep, user prometheus.Labels
}

// maxCached bounds the cache (end_user is the client's): past it the cache
// starts again.
var maxCached = 10000

// identity is the key of every label value a successful try's series use:
// the try's own values, and extra, the custom labels' values (labels.go)
// joined. A struct of the strings, hashed and compared by the map as they
// are (D110: the key used to be one string built per try, an allocation
// and a copy of every value).
type identity struct {
	group, model, deployment, apiBase, provider, keyHash, keyAlias, team string
	endUser, user, requested, route                                      string
	stream                                                               bool
	extra                                                                string
}

func identityOf(t *outcome.Try, extra []string) identity {
	id := identity{group: t.ModelGroup, model: t.Model, deployment: t.DeploymentID, apiBase: t.APIBase, provider: t.Provider,
		keyHash: t.KeyHash, keyAlias: t.KeyAlias, team: t.TeamID, endUser: t.EndUser, user: t.UserID,
		requested: t.RequestedModel, route: t.Route, stream: t.Stream}
	if len(extra) > 0 {
		id.extra = strings.Join(extra, "\x00") + "\x00"
	}
	return id
}

// observeSuccess records a successful try whose answer reached the client,
// with no rate-limit headers and no cooldown to report, through the cache.
func (m *Metrics) observeSuccess(t *outcome.Try, extra []string) {
	key := identityOf(t, extra)
	m.mu.Lock()
	defer m.mu.Unlock() // also over the lazily resolved series
	c := m.success[key]
	if c == nil {
		c = m.resolveSuccess(t, extra)
		if len(m.success) >= maxCached {
			clear(m.success)
		}
		m.success[key] = c
	}
	c.depTotal.Inc()
	c.depSuccess.Inc()
	c.depState.Set(stateHealthy)
	c.apiLatency.Observe(t.Latency.Seconds())
	if t.Stream && t.TimeToFirstToken > 0 {
		if c.ttft == nil { // With makes the series: only when observed, as Observe
			c.ttft = m.ttft.With(pick(c.user, m.ln.ttft))
		}
		c.ttft.Observe(t.TimeToFirstToken.Seconds())
	}
	c.overhead.Observe(t.Overhead.Seconds())
	if t.CompletionTokens > 0 {
		if c.perOutputToken == nil {
			c.perOutputToken = m.perOutputToken.With(pick(c.dep, m.ln.perToken))
		}
		c.perOutputToken.Observe(t.Latency.Seconds() / float64(t.CompletionTokens))
	}
	c.totalRequests.Inc()
	c.requests.Inc()
	c.inputTokens.Add(float64(t.PromptTokens))
	c.outputTokens.Add(float64(t.CompletionTokens))
	c.totalTokens.Add(float64(t.TotalTokens))
	if t.CostKnown {
		if c.spend == nil {
			c.spend = m.spend.With(pick(c.user, m.ln.spend))
		}
		c.spend.Add(t.Cost)
	}
	if !t.Start.IsZero() && !t.End.IsZero() && t.End.After(t.Start) {
		if c.totalLatency == nil {
			c.totalLatency = m.totalLatency.With(pick(c.user, m.ln.totalLatency))
		}
		c.totalLatency.Observe(t.End.Sub(t.Start).Seconds())
	}
}

// resolveSuccess builds the label maps Observe builds for a success and
// resolves each series once.
func (m *Metrics) resolveSuccess(t *outcome.Try, extra []string) *successChildren {
	dep := m.withExtra(deploymentLabelValues(t), extra)
	rem := m.withExtra(remainingLabelValues(t), extra)
	user := m.withExtra(m.userLabels(t), extra)
	user["status_code"] = "200"
	ln := &m.ln
	return &successChildren{dep: dep, user: user,
		depTotal: m.depTotal.With(pick(dep, ln.depTotal)), depSuccess: m.depSuccess.With(pick(dep, ln.depSuccess)),
		depState:   m.depState.With(pick(stateLabelValues(t), ln.depState)),
		apiLatency: m.apiLatency.With(pick(user, ln.apiLatency)), overhead: m.overhead.With(pick(rem, ln.overhead)),
		totalRequests: m.totalRequests.With(pick(user, ln.totalRequests)), requests: m.requests.With(pick(user, ln.requests)),
		inputTokens: m.inputTokens.With(pick(user, ln.inputTokens)), outputTokens: m.outputTokens.With(pick(user, ln.outputTokens)),
		totalTokens: m.totalTokens.With(pick(user, ln.totalTokens)),
	}
}
