package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// PrometheusSettings are LiteLLM's Prometheus label settings (D91):
// litellm_settings.custom_prometheus_metadata_labels and custom_prometheus_tags.
type PrometheusSettings struct {
	// MetadataLabels are custom_prometheus_metadata_labels: a label per
	// entry whose value is the request's metadata field at Path.
	MetadataLabels []PrometheusLabel
	// TagLabels are custom_prometheus_tags: a label per configured tag,
	// "true" when the request's tags hold it (Source; a "*" in it matches any
	// run of characters, from the tag's start, as LiteLLM's PatternMatchRouter).
	TagLabels []PrometheusLabel
}

// PrometheusLabel is one configured label.
type PrometheusLabel struct {
	// Name is the label's name as LiteLLM sanitises it
	// (_sanitize_prometheus_label_name): every character outside
	// [a-zA-Z0-9_] becomes "_", and "_" is put first when it would start with
	// a digit. "metadata.team_name" → "metadata_team_name"; the tag
	// "User-Agent: curl/*" → "tag_User_Agent__curl__".
	Name string
	// Source is the entry as configured.
	Source string
	// Path are the metadata keys walked for a metadata label: the entry
	// without a leading "metadata.", split at dots.
	Path []string
}

// MaxPrometheusLabels bounds each list (LiteLLM has no bound): every label
// multiplies the series of each request metric.
const MaxPrometheusLabels = 16

// prometheusLabelNames are the names of LiteLLM's own labels (and the
// histogram's le): a custom label may not take one.
var prometheusLabelNames = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`end_user user user_email hashed_api_key api_key_alias team team_alias requested_model
		model litellm_model_name tag model_id api_base api_provider exception_status exception_class status_code fallback_model
		route model_group client_ip user_agent callback_name org_id org_alias stream le quantile`) {
		prometheusLabelNames[n] = true
	}
}

// PrometheusLabelName is LiteLLM's _sanitize_prometheus_label_name.
func PrometheusLabelName(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	out := make([]byte, 0, len(b)+1)
	for _, c := range b {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			out = append(out, c)
		} else {
			out = append(out, '_')
		}
	}
	if out[0] >= '0' && out[0] <= '9' {
		out = append([]byte{'_'}, out...)
	}
	return string(out)
}

// prometheusLabels reads custom_prometheus_metadata_labels (tags false) or
// custom_prometheus_tags (tags true). An entry whose label would be one of
// LiteLLM's, a reserved name ("__…") or one already taken is dropped with a
// warning, and so are entries past MaxPrometheusLabels.
func (p *parser) prometheusLabels(n *yaml.Node, path string, tags bool, taken map[string]bool) []PrometheusLabel {
	list, _ := p.strList(n, path)
	var out []PrometheusLabel
	for i, s := range list {
		at := fmt.Sprintf("%s[%d]", path, i)
		name := PrometheusLabelName(s)
		if tags {
			name = PrometheusLabelName("tag_" + s)
		}
		switch {
		case s == "":
			p.warnAt(n, at, "empty; ignored")
			continue
		case prometheusLabelNames[name] || strings.HasPrefix(name, "__") || taken[name]:
			p.warnAt(n, at, "label %q is already a label of LiteLLM's metrics, reserved or configured twice; ignored", name)
			continue
		case len(out) >= MaxPrometheusLabels:
			p.warnAt(n, at, "more than %d labels; ignored (each label multiplies the series of every request metric)", MaxPrometheusLabels)
			continue
		}
		taken[name] = true
		l := PrometheusLabel{Name: name, Source: s}
		if !tags {
			l.Path = strings.Split(strings.TrimPrefix(s, "metadata."), ".")
		}
		out = append(out, l)
	}
	return out
}

// labelNames are the names of ls, taken.
func labelNames(ls []PrometheusLabel) map[string]bool {
	m := make(map[string]bool, len(ls))
	for _, l := range ls {
		m[l.Name] = true
	}
	return m
}
