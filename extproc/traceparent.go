package extproc

import (
	"context"
	"strings"

	"google.golang.org/grpc/metadata"
)

// validTraceparent returns the client's W3C traceparent header when it is
// well formed (version 00, non-zero trace and span ids), else "". It is
// kept in the request context as the parent of the request's trace; it
// reaches the provider only under forward_traceparent_to_llm_provider
// (forward.go).
func validTraceparent(v string) string {
	v = strings.TrimSpace(v)
	if len(v) != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' || v[:2] != "00" {
		return ""
	}
	hex := func(s string) bool {
		nonzero := false
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
			nonzero = nonzero || c != '0'
		}
		return nonzero
	}
	if !hex(v[3:35]) || !hex(v[36:52]) || !hex(v[53:55]) && v[53:55] != "00" {
		return ""
	}
	return v
}

// envoySpan is the traceparent Envoy's tracer put on this ext_proc stream
// (its gRPC client span, a child of the request's span), when Envoy traces
// (xds/tracing.go): the gateway's request span becomes its child, in the
// trace Envoy continued from the client's traceparent or started. "" when
// Envoy does not trace.
func envoySpan(ctx context.Context) string {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ""
	}
	if v := md.Get("traceparent"); len(v) == 1 {
		return validTraceparent(v[0])
	}
	return ""
}
