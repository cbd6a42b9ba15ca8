package metrics

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/llmgate/llmgate/internal/outcome"
)

// Custom labels (D91): LiteLLM's custom_prometheus_metadata_labels and
// custom_prometheus_tags add labels to its request metrics
// (PrometheusMetricLabels.get_labels); here to every metric a try feeds —
// the client-side requests, failures, tokens, spend and latencies, and the
// deployment-side totals, successes, failures, per-token latency, overhead
// and remaining-limit gauges — not to litellm_deployment_state,
// litellm_deployment_cooled_down or the budget gauges, whose values LiteLLM
// never fills (a label left empty is, to PromQL, a label not there).

// Label is one custom label.
type Label struct {
	// Name is the label's name (config.PrometheusLabelName of the entry).
	Name string
	// Path are the metadata keys walked for a metadata label.
	Path []string
	// Tag is a tag label's configured tag: the label is "true" when the
	// request's tags hold it, or, when it has a "*", when one of them
	// matches it from its start ("*": any run of characters), as LiteLLM's
	// get_custom_labels_from_tags does; "false" otherwise.
	Tag string
}

// Options are New's settings.
type Options struct {
	// Buckets are the latency buckets (nil: LiteLLM's).
	Buckets []float64
	// Dropped, when set, reports the events the bus dropped for this sink.
	Dropped func() float64
	// MetadataLabels and TagLabels are the custom labels; fixed for the
	// metrics' life (LiteLLM reads them when its logger starts).
	MetadataLabels []Label
	TagLabels      []Label
	// RequestTags are a try's request_tags with its key's and team's
	// (keys.Service.RequestTags); nil: the try's own and its User-Agent's.
	RequestTags func(*outcome.Try) []string
	// KeyMetadata is a key's metadata by its hash (read only); nil: none.
	KeyMetadata func(keyHash string) map[string]any
	// Enabled are the LiteLLM metrics served (prometheus_metrics_config's
	// metrics; nil: all); IncludeLabels the labels a metric keeps, by
	// LiteLLM's metric name (absent: all of its labels).
	Enabled       map[string]bool
	IncludeLabels map[string][]string
	// EmitStreamLabel: prometheus_emit_stream_label.
	EmitStreamLabel bool
	// NoEndUser: end_user left empty (disable_end_user_cost_tracking or
	// disable_end_user_cost_tracking_prometheus_only).
	NoEndUser bool
}

// Bounds of the metadata labels' values, which the client writes.
const (
	// MaxLabelValue bounds a value's bytes (cut at a character boundary);
	// the request filter cuts the request's values so too.
	MaxLabelValue = 128
	// maxLabelValues bounds the distinct values a metadata label takes
	// for the life of the process; past it a new value is otherLabelValue.
	maxLabelValues = 1000
	// otherLabelValue stands for the values past maxLabelValues.
	otherLabelValue = "__other__"
)

// custom computes the custom labels' values of a try.
type custom struct {
	names       []string
	meta        []Label
	tags        []tagMatcher
	requestTags func(*outcome.Try) []string
	keyMetadata func(string) map[string]any

	mu   sync.Mutex
	seen []map[string]struct{} // per metadata label: the values it took
}

type tagMatcher struct {
	tag string
	re  *regexp.Regexp // nil without "*"
}

func newCustom(o Options) *custom {
	c := &custom{meta: o.MetadataLabels, requestTags: o.RequestTags, keyMetadata: o.KeyMetadata}
	for _, l := range o.MetadataLabels {
		c.names = append(c.names, l.Name)
		c.seen = append(c.seen, map[string]struct{}{})
	}
	for _, l := range o.TagLabels {
		c.names = append(c.names, l.Name)
		m := tagMatcher{tag: l.Tag}
		if strings.Contains(l.Tag, "*") {
			// LiteLLM: re.match(re.escape(tag) with \* → (.*)): anchored at
			// the start only.
			m.re = regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(l.Tag), `\*`, "(.*)"))
		}
		c.tags = append(c.tags, m)
	}
	return c
}

// values are the try's values of the custom labels, in names' order (nil
// without custom labels).
func (c *custom) values(t *outcome.Try) []string {
	if len(c.names) == 0 {
		return nil
	}
	out := make([]string, len(c.names))
	if len(c.meta) > 0 {
		var key map[string]any
		if c.keyMetadata != nil && t.KeyHash != "" {
			key = c.keyMetadata(t.KeyHash)
		}
		for i, l := range c.meta {
			// LiteLLM merges the key's metadata over the request's, key by
			// top-level key, and the request's spend_logs_metadata over
			// both ("+label" entries, D98).
			v := requestValue(t.MetadataLabels, "+"+l.Name)
			if v == "" {
				if _, ok := key[l.Path[0]]; ok {
					v, _ = metadataString(key, l.Path)
				} else {
					v = requestValue(t.MetadataLabels, l.Name)
				}
			}
			out[i] = c.bound(i, v)
		}
	}
	if len(c.tags) > 0 {
		var tags []string
		if c.requestTags != nil {
			// A copy to the callee: t itself would escape through the func
			// value, and every Observe's try with it, custom tags or not
			// (D110: a 576-byte allocation per try).
			tc := *t
			tags = c.requestTags(&tc)
		} else {
			tags = ownTags(t)
		}
		for j, m := range c.tags {
			out[len(c.meta)+j] = "false"
			if slices.Contains(tags, m.tag) || m.re != nil && slices.ContainsFunc(tags, m.re.MatchString) {
				out[len(c.meta)+j] = "true"
			}
		}
	}
	return out
}

// bound cuts v to MaxLabelValue bytes and, past maxLabelValues distinct
// values of label i, answers otherLabelValue for a new one.
func (c *custom) bound(i int, v string) string {
	if v == "" {
		return ""
	}
	v = CutLabelValue(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[i][v]; ok {
		return v
	}
	if len(c.seen[i]) >= maxLabelValues {
		return otherLabelValue
	}
	c.seen[i][v] = struct{}{}
	return v
}

// CutLabelValue cuts v to MaxLabelValue bytes at a character boundary.
func CutLabelValue(v string) string {
	if len(v) <= MaxLabelValue {
		return v
	}
	n := MaxLabelValue
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n]
}

// requestValue is the value of the label name among the request's
// "name=value" entries (outcome.Try.MetadataLabels).
func requestValue(entries []string, name string) string {
	for _, e := range entries {
		if n, v, ok := strings.Cut(e, "="); ok && n == name {
			return v
		}
	}
	return ""
}

// metadataString walks md along path; only a string counts (LiteLLM's
// get_custom_labels_from_metadata).
func metadataString(md map[string]any, path []string) (string, bool) {
	var v any = md
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		if v, ok = m[k]; !ok {
			return "", false
		}
	}
	s, ok := v.(string)
	return s, ok
}

// ownTags are a try's own request tags and its User-Agent's (without a key
// table): early, late, then "User-Agent: <product>" and "User-Agent: <value>".
func ownTags(t *outcome.Try) []string {
	out := append(append([]string(nil), t.Tags...), t.LateTags...)
	if t.UserAgent != "" {
		if product, _, ok := strings.Cut(t.UserAgent, "/"); ok {
			out = append(out, "User-Agent: "+product)
		}
		out = append(out, "User-Agent: "+t.UserAgent)
	}
	return out
}
