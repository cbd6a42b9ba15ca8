// Package realtime holds LiteLLM's Realtime API rules (D159) that the
// control plane and the request filter share: which paths are the realtime
// routes, where a session of an OpenAI or Azure deployment goes (path,
// query, protocol), the bounds of a session, and the reading of the
// provider's WebSocket frames for the usage of its response.done events.
//
// It may import config and the leaf packages (contract, upstream); it does
// no I/O and holds no state beyond one session's reader.
package realtime
