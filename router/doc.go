// Package router is the gateway's pure routing model, LiteLLM's Router without
// the HTTP calls: it resolves a requested model name to a model group
// (model_group_alias, exact name, wildcard pattern), orders the group's
// deployments by the routing strategy, builds the attempt plan (first try,
// retries, fallback groups) that Envoy executes, and turns attempt outcomes
// into usage counters, latencies, failure counts and cooldowns.
//
// It reads the compiled model (internal/model: groups, aliases, wildcards,
// fallbacks, weights, limits, retries, cooldowns), never the config's
// routing keys; config.Deployment is reached only for model_info (prices,
// context windows). It may import config, internal/model, translator
// (ErrorClass, Usage), internal/store, internal/modelfacts and the standard
// library. It must never import Envoy,
// ext_proc, gRPC or do I/O other than through the store.Store interface.
// Time and randomness come in through Options so that tests are
// deterministic. The stored pins of prompt_caching and of the sessions'
// re-pins (pins.go) are a table in memory the plan reads; the caller shares
// it with the other instances through its Publish and Add.
package router
