package extproc

import (
	"slices"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/metrics"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// TestMetadataLabels (D91): the request filter puts the body metadata's
// strings at the configured paths of custom_prometheus_metadata_labels on
// the context as "label=value" (cut to metrics.MaxLabelValue bytes; a
// number, an object, a missing path: nothing), and with
// custom_prometheus_tags a master-key request's own tags ride it too.
func TestMetadataLabels(t *testing.T) {
	st := &State{metricTags: true, metricMetadata: []config.PrometheusLabel{
		{Name: "metadata_department", Path: []string{"department"}},
		{Name: "metadata_a_b", Path: []string{"a", "b"}},
		{Name: "metadata_n", Path: []string{"n"}},
		{Name: "metadata_missing", Path: []string{"missing", "x"}},
	}}
	read := func(body string, h map[string]string) *llmgatev1.RequestContext {
		t.Helper()
		var f requestFields
		if e := readFields([]byte(body), &f); e != nil {
			t.Fatalf("%s: %v", body, e)
		}
		ctx := &llmgatev1.RequestContext{}
		st.setRequestTags(ctx, &f, h)
		st.setMetadataLabels(ctx, &f, h)
		if _, err := encodeContext(ctx); err != nil {
			t.Fatalf("%s: context not encoded: %v", body, err)
		}
		return ctx
	}
	long := strings.Repeat("é", metrics.MaxLabelValue)
	ctx := read(`{"model":"m","metadata":{"department":"eng","a":{"b":"deep"},"n":3,"missing":"flat","tags":["t1"]}}`,
		map[string]string{"x-litellm-tags": "hdr"})
	if want := []string{"metadata_department=eng", "metadata_a_b=deep"}; !slices.Equal(ctx.MetadataLabels, want) {
		t.Errorf("labels %q, want %q", ctx.MetadataLabels, want)
	}
	if want := []string{"t1", "hdr"}; !slices.Equal(ctx.Tags, want) {
		t.Errorf("a master key's tags with custom_prometheus_tags: %q, want %q", ctx.Tags, want)
	}
	ctx = read(`{"model":"m","metadata":{"department":"`+long+`"}}`, nil)
	if want := []string{"metadata_department=" + long[:metrics.MaxLabelValue]}; !slices.Equal(ctx.MetadataLabels, want) {
		t.Errorf("a long value: %q", ctx.MetadataLabels)
	}
	if ctx := read(`{"model":"m"}`, nil); len(ctx.MetadataLabels) != 0 {
		t.Errorf("no metadata: %q", ctx.MetadataLabels)
	}
	// spend_logs_metadata (D98): the body's wins over the header, and
	// each value at a configured path is marked "+" (it wins over the
	// key's metadata in the sink); the header is read without body
	// metadata; a header that is not a JSON object is not read.
	ctx = read(`{"model":"m","metadata":{"department":"eng","a":{"b":"deep"},"spend_logs_metadata":{"department":"spend-dept","n":"7"}}}`,
		map[string]string{"x-litellm-spend-logs-metadata": `{"department":"hdr-dept"}`})
	if want := []string{"+metadata_department=spend-dept", "metadata_a_b=deep", "+metadata_n=7"}; !slices.Equal(ctx.MetadataLabels, want) {
		t.Errorf("spend_logs_metadata in the body: %q, want %q", ctx.MetadataLabels, want)
	}
	ctx = read(`{"model":"m"}`, map[string]string{"x-litellm-spend-logs-metadata": `{"department":"hdr-dept","a":{"b":"hdr-b"}}`})
	if want := []string{"+metadata_department=hdr-dept", "+metadata_a_b=hdr-b"}; !slices.Equal(ctx.MetadataLabels, want) {
		t.Errorf("spend_logs_metadata in the header: %q, want %q", ctx.MetadataLabels, want)
	}
	if ctx := read(`{"model":"m"}`, map[string]string{"x-litellm-spend-logs-metadata": `not json`}); len(ctx.MetadataLabels) != 0 {
		t.Errorf("a header that is not JSON: %q", ctx.MetadataLabels)
	}
	st.metricMetadata, st.metricTags = nil, false
	if ctx := read(`{"model":"m","metadata":{"department":"eng","tags":["t1"]}}`, nil); len(ctx.MetadataLabels)+len(ctx.Tags) != 0 {
		t.Errorf("nothing configured: %q %q", ctx.MetadataLabels, ctx.Tags)
	}
}
