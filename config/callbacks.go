package config

import (
	"fmt"
	"math"
	"sort"

	"gopkg.in/yaml.v3"
)

// Callback names llmgate implements. Every other LiteLLM callback name is
// accepted with a "not implemented yet" warning.
var implementedCallbacks = map[string]bool{
	"prometheus":    true,
	"generic_api":   true,
	"langfuse":      true,
	"otel":          true,
	"s3":            true,
	"s3_v2":         true,
	"datadog":       true,
	"langsmith":     true,
	"aws_sqs":       true,
	"arize":         true,
	"arize_phoenix": true,
	"gcs_bucket":    true,
}

// DefaultLatencyBuckets are LiteLLM's Prometheus latency buckets in
// seconds (LATENCY_BUCKETS; +Inf is implied).
var DefaultLatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 420, 600}

// Prometheus reports whether a callback list names "prometheus"
// (callbacks, success_callback or failure_callback): LiteLLM then serves
// /metrics on the proxy port.
func (ls *LiteLLMSettings) Prometheus() bool {
	for _, l := range [][]string{ls.Callbacks, ls.SuccessCallback, ls.FailureCallback} {
		for _, c := range l {
			if c == "prometheus" {
				return true
			}
		}
	}
	return false
}

// callbackList reads callbacks/success_callback/failure_callback: a list of
// names (a single name is accepted too), warning about each name llmgate
// does not implement.
func (p *parser) callbackList(n *yaml.Node, path string) []string {
	var names []string
	if d := deref(n); d != nil && d.Kind == yaml.ScalarNode && !isNull(d) {
		s, ok := p.str(d, path)
		if !ok {
			return nil
		}
		names = []string{s}
	} else {
		items, ok := p.sequence(n, path)
		if !ok {
			return nil
		}
		for i, it := range items {
			if isNull(it) {
				continue // an unset os.environ/ reference read as unset (--no-env)
			}
			if s, ok := p.str(it, fmt.Sprintf("%s[%d]", path, i)); ok {
				names = append(names, s)
			}
		}
	}
	for i, name := range names {
		if name != "" && !implementedCallbacks[name] && !p.named[name] {
			p.warnAt(n, fmt.Sprintf("%s[%d]", path, i), "callback %q: accepted, not implemented yet; implemented: prometheus, generic_api, langfuse, otel, s3, datadog, langsmith, aws_sqs, arize, arize_phoenix, gcs_bucket", name)
		}
	}
	return names
}

// latencyBuckets reads prometheus_latency_buckets: ascending positive
// seconds, at most 100 (+Inf is added by the histogram).
func (p *parser) latencyBuckets(n *yaml.Node, path string) []float64 {
	items, ok := p.sequence(n, path)
	if !ok {
		return nil
	}
	if len(items) == 0 || len(items) > 100 {
		p.errAt(n, path, "must list 1 to 100 bucket bounds in seconds, got %d", len(items))
		return nil
	}
	out := make([]float64, 0, len(items))
	for i, it := range items {
		f, ok := p.float(it, fmt.Sprintf("%s[%d]", path, i))
		if !ok {
			return nil
		}
		if math.IsInf(f, 1) {
			continue // LiteLLM lists float("inf"); the histogram adds it
		}
		if f <= 0 || math.IsNaN(f) {
			p.errAt(it, fmt.Sprintf("%s[%d]", path, i), "must be a positive number of seconds")
			return nil
		}
		out = append(out, f)
	}
	if !sort.Float64sAreSorted(out) {
		p.errAt(n, path, "bucket bounds must be in ascending order")
		return nil
	}
	return out
}
