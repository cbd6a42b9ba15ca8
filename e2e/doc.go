// Package e2e holds the end-to-end tests: the real `llmgate run` binary with a
// real Envoy, a real redis-server where a test needs shared state, and the
// fake provider (internal/fakeprovider), driven by the official SDKs
// (openai-go, anthropic-sdk-go) and by plain HTTP.
//
// With CI=true a missing Envoy or Redis fails the run; elsewhere the tests
// skip with the reason. Nothing here asserts timings: speed is measured by
// `make bench`.
package e2e
