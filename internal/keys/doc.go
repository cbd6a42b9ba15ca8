// Package keys serves virtual keys: the management API (/key/*, LiteLLM's
// JSON in and out), the in-memory cache the request path reads (no database
// round trip per request), the request-path checks (blocked, expired, model
// allowlist, budgets; rpm/tpm/parallel limits through internal/store), and the
// spend accumulator that writes to the key store in batches off the request
// path (proxy_batch_write_at) after logging each amount to a local
// write-ahead file.
//
// It imports internal/keystore (persistence), internal/store (limit
// counters) and config (for the settings types it applies); never extproc,
// xds or Envoy types. Errors are returned as *Error values the caller turns
// into OpenAI-format JSON.
package keys
