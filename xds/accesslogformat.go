package xds

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	celfmtv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/formatter/cel/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/internal/contract"
)

// The access log names what the client asked for, not what the provider
// was sent: upstream filters rewrite :path on the request's one header map
// (D2), so the client's path comes from the request context the request
// filter writes (llmgate.ctx: path, model, group). Requests the filter
// answers itself carry no context and their :path is untouched; a CEL
// formatter picks between the two.
const clientPath = `%CEL('` + contract.ContextMetadataNamespace + `' in metadata.filter_metadata ? metadata.filter_metadata['` +
	contract.ContextMetadataNamespace + `'].path : request.url_path)%`

func ctxField(key string) string {
	return "%DYNAMIC_METADATA(" + contract.ContextMetadataNamespace + ":" + key + ")%"
}

// accessLogFormat is the stdout access log: one text line per request, or
// one JSON object with the same facts (json_logs).
func accessLogFormat(asJSON bool) *corev3.SubstitutionFormatString {
	cel, _ := toAny(&celfmtv3.Cel{})
	formatters := []*corev3.TypedExtensionConfig{{Name: "envoy.formatter.cel", TypedConfig: cel}}
	if !asJSON {
		line := `[%START_TIME%] "%REQ(:METHOD)% ` + clientPath + ` %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%ms` +
			` attempts=%UPSTREAM_REQUEST_ATTEMPT_COUNT% model="` + ctxField("model") + `" group="` + ctxField("group") +
			`" cluster=%UPSTREAM_CLUSTER% upstream=%UPSTREAM_HOST% id=%REQ(X-REQUEST-ID)%` + "\n"
		return &corev3.SubstitutionFormatString{
			Format:     &corev3.SubstitutionFormatString_TextFormatSource{TextFormatSource: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: line}}},
			Formatters: formatters,
		}
	}
	fields := map[string]string{
		"time": "%START_TIME%", "method": "%REQ(:METHOD)%", "path": clientPath, "protocol": "%PROTOCOL%",
		"status": "%RESPONSE_CODE%", "response_flags": "%RESPONSE_FLAGS%", "bytes_received": "%BYTES_RECEIVED%",
		"bytes_sent": "%BYTES_SENT%", "duration_ms": "%DURATION%", "upstream_ttfb_ms": "%RESPONSE_DURATION%",
		"attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%", "model": ctxField("model"), "model_group": ctxField("group"),
		"cluster": "%UPSTREAM_CLUSTER%", "upstream_host": "%UPSTREAM_HOST%", "call_id": "%REQ(X-REQUEST-ID)%",
		"prompt_tokens":     "%DYNAMIC_METADATA(" + contract.UsageMetadataNamespace + ":prompt_tokens)%",
		"completion_tokens": "%DYNAMIC_METADATA(" + contract.UsageMetadataNamespace + ":completion_tokens)%",
	}
	st := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	for k, v := range fields {
		st.Fields[k] = structpb.NewStringValue(v)
	}
	return &corev3.SubstitutionFormatString{Format: &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: st}, Formatters: formatters}
}
