package extproc

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

// hdrs is hdr for several headers (name, value, …) in four allocations
// (hdr takes three per header), with room for spare more in the slice.
func hdrs(spare int, kv ...string) []*corev3.HeaderValueOption {
	n := len(kv) / 2
	opts := make([]corev3.HeaderValueOption, n)
	vals := make([]corev3.HeaderValue, n)
	size := 0
	for i := 1; i < len(kv); i += 2 {
		size += len(kv[i])
	}
	raw := make([]byte, 0, size)
	out := make([]*corev3.HeaderValueOption, n, n+spare)
	for i := range n {
		at := len(raw)
		raw = append(raw, kv[2*i+1]...)
		vals[i].Key, vals[i].RawValue = kv[2*i], raw[at:len(raw):len(raw)]
		opts[i].Header, opts[i].AppendAction = &vals[i], corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
		out[i] = &opts[i]
	}
	return out
}
