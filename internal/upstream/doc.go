// Package upstream works out where a deployment's requests go: the base URL
// (scheme, host, port, base path) from api_base or the provider's default.
// Both the control plane (cluster endpoints, TLS SNI) and the attempt filter
// (:authority, :path) use it, so they can never disagree.
//
// It may import config only. No I/O.
package upstream
