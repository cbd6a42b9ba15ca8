// Package deploy holds what ships llmgate to a cluster: the Helm chart
// (helm/llmgate) and the tests that lint and render it, and check the
// repository's Dockerfile; and byo/, llmgate's ext_proc server for an Istio
// or Envoy Gateway gateway with the EnvoyFilter and EnvoyPatchPolicy that
// `llmgate render --target istio|envoy-gateway` prints for it (a test keeps
// them current). Nothing here is imported by the gateway.
package deploy
