package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/outcome"
)

// labelled are metrics with two metadata labels and three tag labels (one a
// wildcard), as the gateway builds them from
// custom_prometheus_metadata_labels: ["metadata.department", "metadata.a.b"]
// and custom_prometheus_tags: ["prod", "User-Agent: curl/*", "beta"].
func labelled(keyMD map[string]any, keyTags []string) *Metrics {
	return New(Options{
		MetadataLabels: []Label{{Name: "metadata_department", Path: []string{"department"}}, {Name: "metadata_a_b", Path: []string{"a", "b"}}},
		TagLabels:      []Label{{Name: "tag_prod", Tag: "prod"}, {Name: "tag_User_Agent__curl__", Tag: "User-Agent: curl/*"}, {Name: "tag_beta", Tag: "beta"}},
		KeyMetadata: func(h string) map[string]any {
			if h == "k1" {
				return keyMD
			}
			return nil
		},
		RequestTags: func(t *outcome.Try) []string {
			if t.KeyHash != "k1" {
				return ownTags(t)
			}
			return append(append([]string(nil), keyTags...), ownTags(t)...)
		},
	})
}

// The custom labels on every metric a try feeds, with LiteLLM's values: a
// metadata label from the request's metadata, the key's winning over it; a
// tag label "true" on an exact tag or a wildcard match from the tag's start,
// "false" otherwise; on successes (cached and not) and failures alike.
func TestCustomLabels(t *testing.T) {
	for _, noCache := range []bool{false, true} {
		t.Run(fmt.Sprintf("noCache=%v", noCache), func(t *testing.T) {
			m := labelled(map[string]any{"department": "key-dept", "n": 3}, []string{"beta"})
			m.noCache = noCache
			// The request's own department and a.b; the key k1 overrides
			// department; the tags: prod (its own), User-Agent: curl/8.5.0.
			m.Observe(try(func(t *outcome.Try) {
				t.KeyHash = "k1"
				t.MetadataLabels = []string{"metadata_department=req-dept", "metadata_a_b=nested"}
				t.Tags, t.UserAgent = []string{"prod"}, "curl/8.5.0"
			}))
			// No key: the request's department; no tag matches.
			m.Observe(try(func(t *outcome.Try) {
				t.MetadataLabels = []string{"metadata_department=req-dept"}
				t.Tags, t.UserAgent = []string{"production"}, "python-requests/2.31 curl/8"
			}))
			// spend_logs_metadata ("+" entries, D98) wins over the key's
			// metadata and the request's.
			m.Observe(try(func(t *outcome.Try) {
				t.KeyHash = "k1"
				t.MetadataLabels = []string{"metadata_department=req-dept", "+metadata_department=spend-dept"}
			}))
			// A failure with the request's label and the prod tag.
			m.Observe(try(func(t *outcome.Try) {
				t.Status, t.ErrorClass = 500, "InternalServerError"
				t.MetadataLabels, t.Tags = []string{"metadata_department=failing"}, []string{"prod"}
			}))
			for _, c := range []struct {
				name, metric string
				labels       map[string]string
				want         float64
			}{
				{"key metadata wins", "litellm_proxy_total_requests_metric_total",
					map[string]string{"metadata_department": "key-dept", "metadata_a_b": "nested", "tag_prod": "true", "tag_User_Agent__curl__": "true", "tag_beta": "true"}, 1},
				{"request metadata without a key", "litellm_proxy_total_requests_metric_total",
					map[string]string{"metadata_department": "req-dept", "metadata_a_b": "", "tag_prod": "false", "tag_User_Agent__curl__": "false", "tag_beta": "false"}, 1},
				{"tokens", "litellm_input_tokens_metric_total", map[string]string{"metadata_department": "key-dept", "tag_prod": "true"}, 10},
				{"spend", "litellm_spend_metric_total", map[string]string{"metadata_department": "req-dept", "tag_prod": "false"}, 0.25},
				{"deployment successes", "litellm_deployment_success_responses_total", map[string]string{"metadata_department": "key-dept", "tag_beta": "true"}, 1},
				{"client failure", "litellm_proxy_failed_requests_metric_total", map[string]string{"metadata_department": "failing", "tag_prod": "true"}, 1},
				{"deployment failure", "litellm_deployment_failure_responses_total", map[string]string{"metadata_department": "failing", "tag_prod": "true"}, 1},
				{"deployment tries", "litellm_deployment_total_requests_total", map[string]string{"tag_prod": "true"}, 2},
				{"spend_logs_metadata wins", "litellm_proxy_total_requests_metric_total", map[string]string{"metadata_department": "spend-dept", "tag_beta": "true"}, 1},
			} {
				if got := sumLabels(t, m, c.metric, c.labels); got != c.want {
					t.Errorf("%s: %s%v = %v, want %v", c.name, c.metric, c.labels, got, c.want)
				}
			}
			for _, h := range []string{"litellm_llm_api_latency_metric", "litellm_request_total_latency_metric", "litellm_overhead_latency_metric",
				"litellm_deployment_latency_per_output_token"} {
				if n := histCountLabels(t, m, h, map[string]string{"metadata_department": "key-dept", "tag_prod": "true"}); n != 1 {
					t.Errorf("%s with the custom labels: %v samples, want 1", h, n)
				}
			}
			// Not on the deployment state (LiteLLM never fills them there).
			for _, mt := range gather(t, m, "litellm_deployment_state") {
				for _, l := range mt.GetLabel() {
					if strings.HasPrefix(l.GetName(), "tag_") || strings.HasPrefix(l.GetName(), "metadata_") {
						t.Errorf("litellm_deployment_state has %s", l.GetName())
					}
				}
			}
		})
	}
}

// A metadata label's values are bounded: cut to MaxLabelValue bytes at a
// character boundary, and past maxLabelValues distinct values a new one is
// counted as "__other__" (a value already seen keeps its series).
func TestCustomLabelBounds(t *testing.T) {
	m := labelled(nil, nil)
	long := strings.Repeat("é", MaxLabelValue) // 2 bytes each
	m.Observe(try(func(t *outcome.Try) { t.MetadataLabels = []string{"metadata_department=" + long} }))
	if got := sumLabels(t, m, "litellm_proxy_total_requests_metric_total", map[string]string{"metadata_department": long[:MaxLabelValue]}); got != 1 {
		t.Errorf("long value not cut to %d bytes: %v", MaxLabelValue, got)
	}
	for i := 1; i < maxLabelValues+10; i++ {
		m.Observe(try(func(t *outcome.Try) { t.MetadataLabels = []string{fmt.Sprintf("metadata_department=v%d", i)} }))
	}
	m.Observe(try(func(t *outcome.Try) { t.MetadataLabels = []string{"metadata_department=v1"} }))
	if got := sumLabels(t, m, "litellm_proxy_total_requests_metric_total", map[string]string{"metadata_department": otherLabelValue}); got != 10 {
		t.Errorf("values past the bound: %v under %s, want 10", got, otherLabelValue)
	}
	if got := sumLabels(t, m, "litellm_proxy_total_requests_metric_total", map[string]string{"metadata_department": "v1"}); got != 2 {
		t.Errorf("a value seen before the bound: %v, want 2", got)
	}
}

func sumLabels(t *testing.T, m *Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	var sum float64
	for _, mt := range gather(t, m, name) {
		if hasLabels(mt, labels) {
			sum += mt.GetCounter().GetValue()
		}
	}
	return sum
}

func histCountLabels(t *testing.T, m *Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	var n float64
	for _, mt := range gather(t, m, name) {
		if hasLabels(mt, labels) {
			n += float64(mt.GetHistogram().GetSampleCount())
		}
	}
	return n
}

// hasLabels: every label of want has its value ("" also when absent).
func hasLabels(mt *dtoMetric, want map[string]string) bool {
	for k, v := range want {
		got := ""
		for _, l := range mt.GetLabel() {
			if l.GetName() == k {
				got = l.GetValue()
			}
		}
		if got != v {
			return false
		}
	}
	return true
}
