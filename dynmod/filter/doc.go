// Package filter is the logic of llmgate's in-Envoy request filter (the
// dynamic module in package dynmod/main), kept free of cgo so that it is
// tested with plain `go test` and against the ext_proc request filter it
// stands in for: the filter config the control plane renders, the table the
// gateway pushes, and the decision and answer for one request
// (docs/architecture.md D49).
package filter
