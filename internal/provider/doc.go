// Package provider is the one registry of the providers llmgate serves: each
// is declared once, with its model prefix, wire format (which translator),
// credential kind, default endpoint rule, the environment variables LiteLLM
// reads for it, and its capabilities. config (SplitModel, env defaults),
// translator (selection), extproc (credentials), internal/upstream (the
// endpoint) and xds (per-provider clusters) read it; docs/adding-a-provider.md
// says how to add one.
//
// It is a leaf: standard library only. No request handling enters it.
package provider
