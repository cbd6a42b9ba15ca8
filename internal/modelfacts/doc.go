// Package modelfacts is a built-in table of facts about well-known models
// (context window, output limit, price per token, mode, capability flags),
// derived from LiteLLM's model_prices_and_context_window.json and shipped as
// embedded JSON data (see data/README.md for its source and date).
//
// It imports only the standard library. It never fetches anything at run
// time. A deployment's model_info in the config always overrides these facts;
// that merging is the caller's job.
package modelfacts
