// Package pyrepr writes JSON values as Python prints the objects json.loads
// makes of them: LiteLLM's proxy puts such reprs of a provider's or a
// guardrail's error body into its error messages ("Error code: 404 -
// {'error': {...}}"), and JSON strings as Python's json.dumps writes them
// (JSONString). It imports only the standard library.
package pyrepr
