package config

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/llmgate/llmgate/internal/metricnames"
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
	// MetricsConfig is prometheus_metrics_config: groups of LiteLLM metric
	// names, each with the labels its metrics keep (Enabled, IncludeLabels).
	MetricsConfig []PrometheusMetricGroup
	// EmitStreamLabel is prometheus_emit_stream_label: a "stream" label
	// ("True"/"False") on litellm_proxy_total_requests_metric.
	EmitStreamLabel bool
	// NoEndUser is disable_end_user_cost_tracking_prometheus_only: the
	// end_user label is left empty.
	NoEndUser bool
}

// PrometheusMetricGroup is one prometheus_metrics_config entry.
type PrometheusMetricGroup struct {
	Group   string
	Metrics []string
	// IncludeLabels are the labels the group's metrics keep (nil or
	// empty: all of theirs).
	IncludeLabels []string
}

// Enabled are the metrics prometheus_metrics_config lists (LiteLLM's
// enabled_metrics; the others are not served); nil without it: all.
func (s *PrometheusSettings) Enabled() map[string]bool {
	if len(s.MetricsConfig) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, g := range s.MetricsConfig {
		for _, n := range g.Metrics {
			m[n] = true
		}
	}
	return m
}

// IncludeLabels are the labels each metric keeps, by LiteLLM's metric name
// (LiteLLM's label_filters: a later group's list wins); a metric not in it
// keeps all of its labels.
func (s *PrometheusSettings) IncludeLabels() map[string][]string {
	m := map[string][]string{}
	for _, g := range s.MetricsConfig {
		if len(g.IncludeLabels) == 0 {
			continue
		}
		for _, n := range g.Metrics {
			m[n] = g.IncludeLabels
		}
	}
	return m
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

// prometheusMetricsConfig reads prometheus_metrics_config: a list of
// {group, metrics, include_labels}.
func (p *parser) prometheusMetricsConfig(n *yaml.Node, path string) []PrometheusMetricGroup {
	items, ok := p.sequence(n, path)
	if !ok {
		return nil
	}
	var out []PrometheusMetricGroup
	for i, it := range items {
		at := fmt.Sprintf("%s[%d]", path, i)
		es, ok := p.mapping(it, at)
		if !ok {
			continue
		}
		var g PrometheusMetricGroup
		seen := map[string]bool{}
		for _, e := range es {
			key := joinKey(at, e.Key)
			seen[e.Key] = true
			switch e.Key {
			case "group":
				g.Group, _ = p.str(e.Value, key)
			case "metrics":
				g.Metrics, _ = p.strList(e.Value, key)
			case "include_labels":
				if !isNull(e.Value) {
					g.IncludeLabels, _ = p.strList(e.Value, key)
				}
			default:
				p.warnAt(e.Value, key, "unknown key; ignored")
			}
		}
		if !seen["group"] || !seen["metrics"] {
			p.errAt(it, at, "needs group and metrics")
			continue
		}
		out = append(out, g)
	}
	return out
}

// checkPrometheusMetricsConfig validates prometheus_metrics_config as
// LiteLLM does when its logger starts (it refuses to start otherwise): each
// metric one of LiteLLM's DEFINED_PROMETHEUS_METRICS, each included label
// one of the metric's (its defaults, the custom labels, "stream" where
// prometheus_emit_stream_label puts it). A metric of LiteLLM's that llmgate
// does not serve is warned about and has nothing to filter.
func (p *parser) checkPrometheusMetricsConfig(n *yaml.Node, path string, s *PrometheusSettings) {
	custom := []string{}
	for _, l := range append(slices.Clone(s.MetadataLabels), s.TagLabels...) {
		custom = append(custom, l.Name)
	}
	for i, g := range s.MetricsConfig {
		at := fmt.Sprintf("%s[%d]", path, i)
		for _, m := range g.Metrics {
			if !metricnames.Defined[m] {
				p.errAt(n, at, "invalid metric name: %s", m)
				continue
			}
			def, served := metricnames.Served[m]
			if !served {
				p.warnAt(n, at, "metric %s: not served by llmgate; nothing to filter", m)
				continue
			}
			valid := append(slices.Clone(def), custom...)
			if m == metricnames.TotalRequestsMetric && s.EmitStreamLabel {
				valid = append(valid, "stream")
			}
			for _, l := range g.IncludeLabels {
				if !slices.Contains(valid, l) {
					p.errAt(n, at, "invalid labels for metric %q: %s", m, l)
				}
			}
		}
	}
}
