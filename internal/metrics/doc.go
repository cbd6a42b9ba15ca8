// Package metrics turns the outcome of each upstream try (internal/outcome)
// into Prometheus metrics with LiteLLM's names, labels and buckets, and
// serves them (Prometheus text or OpenMetrics, via client_golang).
//
// It is an outcome sink: it runs on the bus's goroutine, never on the
// request path. It imports internal/outcome and client_golang only; no
// config, router, Envoy or gRPC type enters it. Its subpackage services
// holds LiteLLM's service-health metrics (service_callback), fed by the
// Redis and PostgreSQL clients as well.
package metrics
