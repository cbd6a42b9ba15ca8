package xds

// Names shared by the builders, the bootstrap and the ext_proc filters.
const (
	// ListenerName is the client-facing listener.
	ListenerName = "llmgate_http"
	// RouteConfigName is the route configuration of the listener.
	RouteConfigName = "llmgate_routes"
	// ExtProcCluster is the cluster of the gateway's ext_proc server.
	ExtProcCluster = "llmgate_extproc"
	// XDSCluster is the cluster of the control plane (static, in the bootstrap).
	XDSCluster = "llmgate_xds"
	// GroupHeader carries the model group the request filter chose; routes match on it.
	GroupHeader = "x-llmgate-group"
	// ContextHeader carries the serialized RequestContext to the attempt filter.
	ContextHeader = "x-llmgate-ctx"
	// DeploymentMetadataKey is the gRPC initial metadata key telling the attempt
	// filter which deployment a cluster serves.
	DeploymentMetadataKey = "x-llmgate-deployment"
	// PlanMetadataNamespace is the dynamic metadata namespace the request filter
	// writes the attempt plan into (a PriorityGroupsOverride).
	PlanMetadataNamespace = "llmgate.plan"
	// ContextMetadataNamespace is the dynamic metadata namespace that carries the
	// RequestContext (field "ctx", base64) from the request filter to the attempt filter.
	ContextMetadataNamespace = "llmgate.ctx"
	// SpacedMetadataNamespace is written by the attempt filter when a try's
	// response carries the wait before its retry on the same deployment
	// (field "after": the try's index), so that the next try does not wait
	// again (docs/architecture.md D18).
	SpacedMetadataNamespace = "llmgate.spaced"
	// FallbackHeader carries a signed ticket from the attempt filter's internal
	// redirect to the request filter (context-window / content-policy fallbacks).
	FallbackHeader = "x-llmgate-fallback"
)

// ClusterName is the Envoy cluster of a deployment.
func ClusterName(deploymentID string) string { return "dep_" + deploymentID }

// ProviderClusterName is the cluster of a `model: "*"` deployment for one
// provider: such a deployment has one cluster per provider with a public
// endpoint, since the provider is known only per request.
func ProviderClusterName(deploymentID, provider string) string {
	return "dep_" + deploymentID + "_" + provider
}

// ProviderMetadataKey is the gRPC initial metadata key naming the provider of
// a per-provider cluster.
const ProviderMetadataKey = "x-llmgate-provider"
