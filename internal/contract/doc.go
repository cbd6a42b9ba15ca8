// Package contract holds what the control plane (xds), the request filter
// and the attempt filter (extproc) agree on: Envoy cluster names of
// deployments, the gRPC metadata keys and dynamic metadata namespaces the
// filter configs and the filters exchange, the internal x-llmgate-* header
// names, and the routing table's xDS type. Renaming anything here changes
// what a control plane and its ext_proc replicas expect of each other.
//
// It is a leaf: it imports only the standard library. No behaviour enters
// it, only names and the functions that build them.
package contract
