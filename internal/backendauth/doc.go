// Package backendauth puts provider credentials on an upstream request: one
// Injector interface, one file per kind (Bearer, Azure api-key, Anthropic
// x-api-key, Google x-goog-api-key, AWS SigV4, Vertex AI and Entra ID
// tokens).
//
// It may import the standard library and golang.org/x/oauth2 only. The
// static kinds do no I/O and read no environment: credentials come in from
// the config, the signing time from the caller. The token kinds (Vertex,
// Entra) ask their token endpoint when the cached token nears expiry.
// Secrets must never appear in an error message, a String() or a log line;
// the Secret type redacts itself.
package backendauth
