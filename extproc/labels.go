package extproc

import (
	"encoding/json"

	"github.com/llmgate/llmgate/internal/metrics"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// setMetadataLabels puts on ctx the request's values of
// custom_prometheus_metadata_labels (D91): for each configured path, the
// string at that path of the body's metadata (LiteLLM's requester_metadata;
// the key's metadata, which wins over it, is looked up by the metrics sink
// off the request path), as "label=value", and the string at that path of
// the request's spend_logs_metadata (metadata.spend_logs_metadata, else the
// x-litellm-spend-logs-metadata header's JSON object), which wins over the
// key's, as "+label=value" (D98). Each value is cut to
// metrics.MaxLabelValue bytes. Nothing is read unless labels are configured
// and the body has metadata or the header is set (in module mode such a
// body is the ext_proc filter's: metadata is not a plain key).
func (st *State) setMetadataLabels(ctx *llmgatev1.RequestContext, f *requestFields, h map[string]string) {
	if len(st.metricMetadata) == 0 {
		return
	}
	var md, spend map[string]json.RawMessage
	if len(f.Metadata) > 0 && f.Metadata[0] == '{' && json.Unmarshal(f.Metadata, &md) == nil {
		if raw := md["spend_logs_metadata"]; len(raw) > 0 && raw[0] == '{' {
			_ = json.Unmarshal(raw, &spend)
		}
	}
	if hv := h[spendLogsMetadataHeader]; spend == nil && len(hv) > 0 && len(hv) <= maxSpendLogsMetadataHeader {
		_ = json.Unmarshal([]byte(hv), &spend)
	}
	if md == nil && spend == nil {
		return
	}
	for _, l := range st.metricMetadata {
		if v, ok := jsonPathString(spend, l.Path); ok && v != "" {
			ctx.MetadataLabels = append(ctx.MetadataLabels, "+"+l.Name+"="+metrics.CutLabelValue(v))
		} else if v, ok := jsonPathString(md, l.Path); ok && v != "" {
			ctx.MetadataLabels = append(ctx.MetadataLabels, l.Name+"="+metrics.CutLabelValue(v))
		}
	}
}

// spendLogsMetadataHeader is LiteLLM's header for a request's
// spend_logs_metadata (a JSON object); a longer value than
// maxSpendLogsMetadataHeader bytes is not read.
const (
	spendLogsMetadataHeader    = "x-litellm-spend-logs-metadata"
	maxSpendLogsMetadataHeader = 8 << 10
)

// jsonPathString walks md along path; only a string at its end counts.
func jsonPathString(md map[string]json.RawMessage, path []string) (string, bool) {
	if md == nil {
		return "", false
	}
	raw, ok := md[path[0]]
	for _, k := range path[1:] {
		if !ok || len(raw) == 0 || raw[0] != '{' {
			return "", false
		}
		var next map[string]json.RawMessage
		if json.Unmarshal(raw, &next) != nil {
			return "", false
		}
		raw, ok = next[k]
	}
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
