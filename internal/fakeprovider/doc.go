// Package fakeprovider is an in-process stand-in for the LLM providers the
// gateway talks to: OpenAI, Azure OpenAI, Anthropic, AWS Bedrock (with SigV4
// verification and eventstream framing), Gemini / Vertex AI, Cohere and
// Ollama. It answers each provider's exact wire format with deterministic
// content derived from the request, records every request, and injects
// faults (status codes, delays, connection resets, streams cut mid-way)
// chosen per request by x-fake-* headers or by rules set in code or over the
// /_fake/ control API.
//
// It is test support: end-to-end tests, benchmarks and cmd/fakellm use it.
//
// Endpoints are matched on path suffixes, so any api_base prefix works
// ("/dep-a/v1/chat/completions"). Fault headers: x-fake-status,
// x-fake-delay-ms, x-fake-reset (before|after-headers), x-fake-cut-after
// (N stream chunks, or N body bytes), x-fake-retry-after,
// x-fake-error-message, x-fake-finish-reason. A status together with
// cut-after on a stream gives N chunks and then the provider's in-stream
// error (OpenAI/Azure data error, Anthropic event: error, Bedrock exception
// frame). Control API: GET/DELETE /_fake/requests, GET /_fake/counts
// [?prefix=], GET/POST/DELETE /_fake/rules, GET /_fake/health.
//
// HTTP/2 without TLS (prior knowledge, as Envoy speaks it) comes from
// net/http's Protocols rather than the deprecated x/net/http2/h2c.
//
// May import: the standard library, aws-sdk-go-v2 (signer/v4 to verify
// signatures, protocol/eventstream to frame Bedrock streams).
// Must never enter: any gateway package (config, xds, extproc, translator) —
// the fake must not share code with what it tests, or it would agree with
// the gateway's mistakes; per-request logging or allocations that would make
// it the bottleneck of a benchmark.
package fakeprovider
