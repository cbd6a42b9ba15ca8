package xds

// Names of the Envoy resources the builders and the bootstrap share. What
// the ext_proc filters share with the control plane is in internal/contract.
const (
	// ListenerName is the client-facing listener.
	ListenerName = "llmgate_http"
	// RouteConfigName is the route configuration of the listener.
	RouteConfigName = "llmgate_routes"
	// ExtProcCluster is the cluster of the gateway's ext_proc server.
	ExtProcCluster = "llmgate_extproc"
	// XDSCluster is the cluster of the control plane (static, in the bootstrap).
	XDSCluster = "llmgate_xds"
)
