package extproc

import (
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/llmgate/llmgate/translator"
)

// immediate answers the client directly with a body and headers. It adds no
// marker header: local_reply_config tells Envoy's own replies apart by their
// response flags (docs/architecture.md, D4), and every header set here reaches
// the client.
func immediate(status int, contentType string, body []byte, headers map[string]string, details string) *extprocv3.ProcessingResponse {
	set := []*corev3.HeaderValueOption{
		hdr("content-type", contentType),
	}
	for k, v := range headers {
		set = append(set, hdr(k, v))
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{
		Status:  &typev3.HttpStatus{Code: typev3.StatusCode(status)},
		Headers: &extprocv3.HeaderMutation{SetHeaders: set},
		Body:    body,
		Details: details,
	}}}
}

// errorReply answers with OpenAI error JSON.
func errorReply(e *translator.Error, headers map[string]string) *extprocv3.ProcessingResponse {
	if e.Code == "" {
		e.Code = strconv.Itoa(e.Status)
	}
	if e.RetryAfter > 0 {
		if headers == nil {
			headers = map[string]string{}
		}
		headers["retry-after"] = strconv.Itoa(int(e.RetryAfter.Seconds() + 0.999))
	}
	return immediate(e.Status, "application/json", e.JSON(), headers, "llmgate_"+e.Type)
}

func hdr(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: k, RawValue: []byte(v)},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// headerMap flattens Envoy's header map (lower-case keys, last value wins).
func headerMap(h *corev3.HeaderMap) map[string]string {
	out := make(map[string]string, len(h.GetHeaders()))
	for _, kv := range h.GetHeaders() {
		v := kv.GetValue()
		if v == "" && len(kv.GetRawValue()) > 0 {
			v = string(kv.GetRawValue())
		}
		out[kv.GetKey()] = v
	}
	return out
}
