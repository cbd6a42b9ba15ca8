// Package metricnames holds LiteLLM's Prometheus metric names and the
// default label names of each (LiteLLM's PrometheusMetricLabels and
// DEFINED_PROMETHEUS_METRICS): the one table config validates
// prometheus_metrics_config against and internal/metrics builds its
// metrics from (D91).
//
// It imports nothing; no behaviour enters it.
package metricnames
