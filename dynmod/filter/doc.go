// Package filter is what the control plane and llmgate's in-Envoy request
// filter (the dynamic module, package dynmod) agree on: the module's name
// and the filter config the listener carries (docs/architecture.md D53).
// The filter's logic is the ext_proc request filter's own code
// (extproc/module.go), run in Envoy's process.
package filter
