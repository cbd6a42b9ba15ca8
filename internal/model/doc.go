// Package model is a loaded config compiled once for its readers: the model
// groups with their aliases, wildcard patterns, fallback lists (every kind)
// and simple-shuffle weights already resolved, and per deployment its
// provider (internal/provider), wire format, credential kind, effective
// api_base, Envoy cluster name (internal/contract), mock switches, limits
// (rpm, tpm, max_parallel_requests), timeouts, retries, cooldown and what
// the shared store must track for it.
//
// config parses and validates a LiteLLM config; this package interprets
// its routing keys, each in one place; router, extproc and xds read the
// model, never those keys of the config. The raw deployment stays
// reachable (Deployment.Config) for what is passed through as written:
// credentials, provider parameters, request defaults and model_info.
//
// It may import config, internal/provider, internal/contract,
// internal/upstream and the standard library. Nothing of Envoy, gRPC or
// the store enters it, and it performs no I/O.
package model
