package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// envoyStatsFilter picks the Envoy stats /metrics re-exports: the gateway
// listener's connections, requests and latency, the ext_proc filters'
// streams and errors, each deployment cluster's tries, retries, timeouts,
// circuit-breaker overflows and ejections, and the server's liveness and
// memory. Envoy's names are kept (envoy_ prefix, its labels), so its own
// dashboards still apply.
const envoyStatsFilter = `^(http\.llmgate\.(downstream_(cx_active|cx_total|rq_active|rq_total|rq_[1-5]xx|rq_time)|ext_proc\..*)` +
	`|cluster\.[^.]+\.(upstream_rq_(total|retry|retry_success|retry_overflow|pending_overflow|timeout|per_try_timeout|[1-5]xx)` +
	`|upstream_cx_(active|connect_fail|total)|outlier_detection\.ejections_active|ext_proc\..*)` +
	`|server\.(live|uptime|state|memory_allocated|memory_heap_size|total_connections|concurrency))$`

// envoyStats gathers Envoy's stats from its admin interface at scrape time,
// so that one /metrics shows LiteLLM's metrics and Envoy's side by side.
// A scrape that cannot reach Envoy shows llmgate_envoy_stats_up 0 and the
// gateway's own metrics, never an error.
type envoyStats struct {
	admin *adminEndpoint
	up    atomic.Bool
}

// Gather implements prometheus.Gatherer.
func (e *envoyStats) Gather() ([]*dto.MetricFamily, error) {
	fams, err := e.fetch()
	e.up.Store(err == nil)
	if err != nil {
		return nil, nil
	}
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		out = append(out, f)
	}
	return out, nil
}

func (e *envoyStats) fetch() (map[string]*dto.MetricFamily, error) {
	if _, ok := e.admin.address(); !ok {
		return nil, fmt.Errorf("envoy admin not bound yet")
	}
	resp, err := e.admin.client().Get(e.admin.url() + "/stats/prometheus?filter=" + url.QueryEscape(envoyStatsFilter))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("envoy admin: %s", resp.Status)
	}
	var p expfmt.TextParser
	return p.TextToMetricFamilies(resp.Body)
}

// upGauge reports whether the last scrape reached Envoy.
func (e *envoyStats) upGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "llmgate_envoy_stats_up",
		Help: "1 when the last /metrics scrape read Envoy's stats from its admin interface, 0 when it could not"},
		func() float64 {
			if e.up.Load() {
				return 1
			}
			return 0
		})
}
