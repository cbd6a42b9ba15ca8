// Package translator holds the pure functions between the OpenAI API and each
// provider's wire format: one file (or a few) per provider, built behind the
// small Translator and Stream interfaces of translator.go and registered by
// provider name (registry.go). openai.go is the pass-through for OpenAI,
// Azure and every OpenAI-compatible provider; sse.go is the incremental
// server-sent-events parser and writer the stream decoders share.
//
// Translators do no I/O, read no clock and no environment: credentials are
// applied afterwards (internal/backendauth), times come from the provider's
// answer. Stream decoders take chunks with arbitrary boundaries and never
// buffer a whole stream. Golden fixtures live in testdata/ (-update rewrites
// them) and every decoder and parser has a fuzz test.
//
// It may import the standard library and well-kept JSON helpers. It must
// never import Envoy, ext_proc, config or router code.
package translator
