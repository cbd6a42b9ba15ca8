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
	pl := cfg.LiteLLM.PrometheusLabels
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
	if n := len(cfg.LiteLLM.PrometheusLabels.TagLabels); n != MaxPrometheusLabels {
		t.Errorf("%d tag labels kept, want %d", n, MaxPrometheusLabels)
	}
}
