package contract

// RealtimeHeader carries the cluster of a Realtime API session (D159): the
// request filter names it after checking the key and picking the
// deployment, and the realtime route sends the upgraded request there
// (cluster_header). A client's own value never counts: the request filter
// overwrites it, and refuses it on every other route.
const RealtimeHeader = "x-llmgate-realtime"

// The clusters of the realtime sessions (D164): one per scheme, whatever
// the number of upstream hosts. Original-destination clusters, like the
// client-side ones (D156): a session connects to the address the request
// filter resolved for its deployment and wrote in llmgate.ctx
// ClientSideDstKey; the TLS one takes the SNI and the certificate's name
// from the session's :authority (the deployment's host). Only the upstream
// codec is in their filters (no per-try filter reads a WebSocket).
const (
	RealtimePlainCluster = "llmgate_realtime"
	RealtimeTLSCluster   = "llmgate_realtime_tls"
)

// RealtimeCluster is the cluster of a session to an upstream over TLS or
// plain http.
func RealtimeCluster(tls bool) string {
	if tls {
		return RealtimeTLSCluster
	}
	return RealtimePlainCluster
}
