// Package guardrails runs LiteLLM's guardrails (the config's top-level
// guardrails list) for the request filter: which guardrails a request runs
// (default_on, the body's guardrails and metadata.guardrails, a key's or
// its team's metadata.guardrails), the pre_call / during_call check of the
// request's texts (a block, or Presidio's masked texts written back into
// the body) and the post_call check of the answer.
//
// It speaks the guardrail services' own HTTP APIs with a Go HTTP client:
// LiteLLM's generic guardrail API and Presidio's analyzer and anonymizer.
// These calls are the guardrail's round trip, made only for a config (and
// a request) that uses one; never a provider call (Envoy is the data plane).
//
// It may import config, translator (its Error), internal/pyrepr and the
// standard library; nothing of Envoy or ext_proc enters it
// (docs/architecture.md D139).
package guardrails
