package extproc

import "strings"

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
