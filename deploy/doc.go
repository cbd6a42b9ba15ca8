// Package deploy holds what ships llmgate to a cluster: the Helm chart
// (helm/llmgate) and the tests that lint and render it, and check the
// repository's Dockerfile. Nothing here is imported by the gateway.
package deploy
