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
// May import: the standard library, aws-sdk-go-v2 (signer/v4 to verify
// signatures, protocol/eventstream to frame Bedrock streams).
// Must never enter: any gateway package (config, xds, extproc, translator) —
// the fake must not share code with what it tests, or it would agree with
// the gateway's mistakes; per-request logging or allocations that would make
// it the bottleneck of a benchmark.
package fakeprovider
