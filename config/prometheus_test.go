package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestPrometheusCustomLabels (D91): custom_prometheus_metadata_labels and
// custom_prometheus_tags are read without a "not yet" warning, each label
// named as LiteLLM's _sanitize_prometheus_label_name names it; an entry
// whose label is one of LiteLLM's, reserved or taken twice, and entries past
// MaxPrometheusLabels, are dropped with a warning.
func TestPrometheusCustomLabels(t *testing.T) {
	base := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\nlitellm_settings:\n  callbacks: [prometheus]\n"
	env := func(string) (string, bool) { return "", false }
	cfg := mustParse(t, base+`  custom_prometheus_metadata_labels: ["metadata.department", "metadata.a.b-c", "9lives", "team", "metadata.department", "__x"]
  custom_prometheus_tags: ["prod", "User-Agent: curl/*", "a.b"]
`, env)
	pl := cfg.LiteLLM.PrometheusTuning
	want := []PrometheusLabel{
		{Name: "metadata_department", Source: "metadata.department", Path: []string{"department"}},
		{Name: "metadata_a_b_c", Source: "metadata.a.b-c", Path: []string{"a", "b-c"}},
		{Name: "_9lives", Source: "9lives", Path: []string{"9lives"}},
	}
	if !reflect.DeepEqual(pl.MetadataLabels, want) {
		t.Errorf("metadata labels %+v, want %+v", pl.MetadataLabels, want)
	}
	wantTags := []PrometheusLabel{{Name: "tag_prod", Source: "prod"}, {Name: "tag_User_Agent__curl__", Source: "User-Agent: curl/*"}, {Name: "tag_a_b", Source: "a.b"}}
	if !reflect.DeepEqual(pl.TagLabels, wantTags) {
		t.Errorf("tag labels %+v, want %+v", pl.TagLabels, wantTags)
	}
	var warned []string
	for _, w := range cfg.Warnings {
		if strings.Contains(w.Message, "not implemented") || strings.Contains(w.Message, "not yet") {
			t.Errorf("warning %s: %s", w.Key, w.Message)
		}
		if strings.Contains(w.Key, "custom_prometheus") {
			warned = append(warned, w.Key)
		}
	}
	wantWarned := []string{"litellm_settings.custom_prometheus_metadata_labels[3]", "litellm_settings.custom_prometheus_metadata_labels[4]",
		"litellm_settings.custom_prometheus_metadata_labels[5]"}
	if !reflect.DeepEqual(warned, wantWarned) {
		t.Errorf("warnings at %v, want %v", warned, wantWarned)
	}

	var many []string
	for i := 0; i < MaxPrometheusLabels+2; i++ {
		many = append(many, fmt.Sprintf("%q", fmt.Sprint("t", i)))
	}
	cfg = mustParse(t, base+"  custom_prometheus_tags: ["+strings.Join(many, ", ")+"]\n", env)
	if n := len(cfg.LiteLLM.PrometheusTuning.TagLabels); n != MaxPrometheusLabels {
		t.Errorf("%d tag labels kept, want %d", n, MaxPrometheusLabels)
	}
}

// TestPrometheusMetricsConfig (D91): prometheus_metrics_config's groups are
// read; as LiteLLM refuses to start, a metric outside its
// DEFINED_PROMETHEUS_METRICS or a label the metric does not have (its own,
// the custom ones, "stream" with prometheus_emit_stream_label) is an error;
// a metric of LiteLLM's that llmgate does not serve is warned about.
func TestPrometheusMetricsConfig(t *testing.T) {
	base := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\nlitellm_settings:\n  callbacks: [prometheus]\n"
	env := func(string) (string, bool) { return "", false }
	cfg := mustParse(t, base+`  prometheus_metrics_config:
    - group: requests
      metrics: [litellm_proxy_total_requests_metric]
      include_labels: [requested_model, status_code, stream, tag_prod]
    - group: spend
      metrics: [litellm_spend_metric]
      include_labels: [model, tag_prod]
    - group: all-labels
      metrics: [litellm_deployment_state, litellm_cache_hits_metric]
  prometheus_emit_stream_label: true
  custom_prometheus_tags: [prod]
`, env)
	pt := &cfg.LiteLLM.PrometheusTuning
	if !pt.EmitStreamLabel || len(pt.MetricsConfig) != 3 || pt.MetricsConfig[2].IncludeLabels != nil {
		t.Fatalf("read %+v", pt)
	}
	if en := pt.Enabled(); len(en) != 4 || !en["litellm_spend_metric"] || !en["litellm_deployment_state"] {
		t.Errorf("enabled %v", en)
	}
	if inc := pt.IncludeLabels(); len(inc) != 2 || !reflect.DeepEqual(inc["litellm_spend_metric"], []string{"model", "tag_prod"}) ||
		!reflect.DeepEqual(inc["litellm_proxy_total_requests_metric"], []string{"requested_model", "status_code", "stream", "tag_prod"}) {
		t.Errorf("include labels %v", inc)
	}
	warned := 0
	for _, w := range cfg.Warnings {
		if strings.Contains(w.Key, "prometheus") {
			if !strings.Contains(w.Message, "litellm_cache_hits_metric: not served by llmgate") {
				t.Errorf("warning %s: %s", w.Key, w.Message)
			}
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("%d warnings, want 1 (the cache metric)", warned)
	}
	for _, c := range []struct{ yaml, want string }{
		{"  prometheus_metrics_config:\n    - group: g\n      metrics: [litellm_no_such_metric]\n", "invalid metric name: litellm_no_such_metric"},
		{"  prometheus_metrics_config:\n    - group: g\n      metrics: [litellm_deployment_state]\n      include_labels: [team]\n", `invalid labels for metric "litellm_deployment_state": team`},
		{"  prometheus_metrics_config:\n    - group: g\n      metrics: [litellm_proxy_total_requests_metric]\n      include_labels: [stream]\n", "invalid labels"},
		{"  prometheus_metrics_config:\n    - metrics: [litellm_spend_metric]\n", "needs group and metrics"},
	} {
		if e := parseErr(t, base+c.yaml, env); !strings.Contains(e.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.yaml, e, c.want)
		}
	}
}

// TestEndUserCostTracking (D91): both keys are read as booleans; the
// Prometheus-only one without a warning, disable_end_user_cost_tracking
// with the partial key's warning (its spend side is not built).
func TestEndUserCostTracking(t *testing.T) {
	base := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\nlitellm_settings:\n  callbacks: [prometheus]\n"
	env := func(string) (string, bool) { return "", false }
	cfg := mustParse(t, base+"  disable_end_user_cost_tracking_prometheus_only: true\n", env)
	if !cfg.LiteLLM.PrometheusTuning.NoEndUser || cfg.LiteLLM.DisableEndUserCostTracking || len(cfg.Warnings) != 0 {
		t.Errorf("prometheus only: %+v %v", cfg.LiteLLM.PrometheusTuning, cfg.Warnings)
	}
	cfg = mustParse(t, base+"  disable_end_user_cost_tracking: true\n", env)
	if !cfg.LiteLLM.DisableEndUserCostTracking || cfg.LiteLLM.PrometheusTuning.NoEndUser {
		t.Errorf("disable_end_user_cost_tracking not read")
	}
	if e := parseErr(t, base+"  disable_end_user_cost_tracking_prometheus_only: sometimes\n", env); !strings.Contains(e.Error(), "disable_end_user_cost_tracking_prometheus_only") {
		t.Errorf("a non-boolean: %v", e)
	}
}
