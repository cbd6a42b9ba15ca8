package xds

import (
	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	celv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/filters/cel/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// extProcTimeoutMapper answers an ext_proc message timeout (Envoy's 504 with
// details ext_proc_error_per-message_timeout_exceeded, and no response flag)
// with OpenAI JSON; it was an empty 504. The pipelined request filter's timer
// runs while a client uploads its body (docs/architecture.md D46), so a
// client that stalls past the extended timeout meets it.
func extProcTimeoutMapper() *hcmv3.ResponseMapper {
	cel, _ := anypb.New(&celv3.ExpressionFilter{Expression: "response.code == 504 && response.code_details.startsWith('ext_proc_error')"})
	return &hcmv3.ResponseMapper{
		Filter: &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ExtensionFilter{ExtensionFilter: &accesslogv3.ExtensionFilter{
			Name: "envoy.access_loggers.extension_filters.cel", ConfigType: &accesslogv3.ExtensionFilter_TypedConfig{TypedConfig: cel},
		}}},
		BodyFormatOverride: &corev3.SubstitutionFormatString{
			Format: &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: &structpb.Struct{Fields: map[string]*structpb.Value{
				"error": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
					"message": structpb.NewStringValue("The gateway's request processor did not answer in time (or the request body stopped arriving); try again"),
					"type":    structpb.NewStringValue("timeout_error"),
					"param":   structpb.NewNullValue(),
					"code":    structpb.NewStringValue("504"),
				}}),
			}}},
			ContentType: "application/json",
		},
	}
}
