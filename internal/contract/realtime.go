package contract

import "strconv"

// RealtimeHeader carries the cluster of a Realtime API session (D159): the
// request filter names it after checking the key and picking the
// deployment, and the realtime route sends the upgraded request there
// (cluster_header). A client's own value never counts: the request filter
// overwrites it, and refuses it on every other route.
const RealtimeHeader = "x-llmgate-realtime"

// RealtimeCluster names the cluster of an upstream host's realtime
// sessions: one per scheme, host and port, with only the upstream codec in
// its filters (no attempt filter reads a WebSocket).
func RealtimeCluster(host string, port uint32, tls bool) string {
	b := make([]byte, 0, len("realtime__")+len(host)+10)
	b = append(b, "realtime_"...)
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	b = append(b, '_')
	b = strconv.AppendUint(b, uint64(port), 10)
	if tls {
		b = append(b, "_tls"...)
	}
	return string(b)
}
