// Package backendauth puts provider credentials on an upstream request: one
// Injector interface, one file per kind (Bearer, Azure api-key, Anthropic
// x-api-key, Google x-goog-api-key, AWS SigV4).
//
// It may import only the standard library. It does no I/O and reads no
// environment: credentials come in from the config, the signing time from the
// caller. Secrets must never appear in an error message, a String() or a log
// line; the Secret type redacts itself.
package backendauth
