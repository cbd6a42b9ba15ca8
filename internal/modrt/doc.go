// Package modrt holds the Go runtime settings of llmgate's dynamic module
// inside Envoy (dynmod/runtime.go applies them; docs/architecture.md D66):
// how many Ps the module's Go runtime has, chosen so that Envoy's worker
// threads, which call into Go for every hook and return to C in between,
// find their P again instead of waiting for one.
package modrt
