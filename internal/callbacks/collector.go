package callbacks

import "github.com/prometheus/client_golang/prometheus"

var (
	sentDesc = prometheus.NewDesc("llmgate_callback_events_sent_total",
		"Events a logging callback delivered.", []string{"callback"}, nil)
	droppedDesc = prometheus.NewDesc("llmgate_callback_events_dropped_total",
		"Events a logging callback lost: its queue was full, or the receiver failed every retry.", []string{"callback"}, nil)
	failuresDesc = prometheus.NewDesc("llmgate_callback_send_failures_total",
		"Failed posts to a logging callback's receiver (each retry counted).", []string{"callback"}, nil)
)

// Collector exposes the callbacks' counts as llmgate_callback_* metrics.
func (m *Manager) Collector() prometheus.Collector { return collector{m} }

type collector struct{ m *Manager }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sentDesc
	ch <- droppedDesc
	ch <- failuresDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.m.Stats() {
		ch <- prometheus.MustNewConstMetric(sentDesc, prometheus.CounterValue, float64(s.Sent), s.Name)
		ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(s.Dropped), s.Name)
		ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.CounterValue, float64(s.Failures), s.Name)
	}
}
