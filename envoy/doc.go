// Package envoy generates the bootstrap that points an Envoy at the gateway's
// control plane, finds the Envoy binary, and supervises its process.
//
// It may import xds (for names) and the Envoy API types. It knows nothing of
// LiteLLM semantics.
package envoy
