package contract

import (
	"strconv"
	"strings"
)

// Internal headers. None may reach a client (xds strips the prefix from
// every response) or a provider (the attempt filter removes them).
const (
	// InternalHeaderPrefix starts every header the gateway adds for its own
	// pieces (x-llmgate-group, -fallback, -retry, …).
	InternalHeaderPrefix = "x-llmgate-"
	// GroupHeader carries the model group the request filter chose; routes match on it.
	GroupHeader = "x-llmgate-group"
	// FallbackHeader carries a signed ticket from the attempt filter's internal
	// redirect to the request filter (context-window / content-policy
	// fallbacks) and from /health to its pinned probe.
	FallbackHeader = "x-llmgate-fallback"
	// RetryHeader is set by the attempt filter on a response that Envoy must
	// retry (the next plan entry is then tried); routes retry on it.
	RetryHeader = "x-llmgate-retry"
	// ModuleHeader marks a request the in-Envoy request filter (the dynamic
	// module, D53) served itself: the listener then skips the ext_proc
	// request filter. Its value is a per-process secret; the module removes
	// the header from every request it did not serve, and the listener
	// removes it before the router.
	ModuleHeader = "x-llmgate-module"
)

// gRPC initial metadata the ext_proc filter configs send with each stream.
const (
	// PhaseMetadataKey tells the ext_proc server which filter a stream comes
	// from: PhaseRequest (router level, once per request) or PhaseAttempt
	// (upstream filter of a deployment cluster, once per try).
	PhaseMetadataKey = "x-llmgate-phase"
	PhaseRequest     = "request"
	PhaseAttempt     = "attempt"
	// PhaseObserve: the pass-through observer (observability mode: Envoy
	// sends and never waits), which reads a pass-through answer's usage
	// (D128).
	PhaseObserve = "observe"
	// DeploymentMetadataKey tells the attempt filter which deployment a cluster serves.
	DeploymentMetadataKey = "x-llmgate-deployment"
	// ProviderMetadataKey names the provider of a per-provider cluster of a
	// `model: "*"` deployment.
	ProviderMetadataKey = "x-llmgate-provider"
)

// Dynamic metadata namespaces the request filter writes for Envoy and the
// attempt filter.
const (
	// PlanMetadataNamespace holds the attempt plan (a PriorityGroupsOverride).
	PlanMetadataNamespace = "llmgate.plan"
	// ContextMetadataNamespace holds the RequestContext (field "ctx", base64)
	// the attempt filter reads, and plain fields for Envoy's own formatters:
	// "group" (the model group), "model" (the name the client asked for),
	// "path" (the client's path without its query).
	ContextMetadataNamespace = "llmgate.ctx"
	// AppliedGuardrailsField is the context field naming the guardrails a
	// request ran (x-litellm-applied-guardrails, D149).
	AppliedGuardrailsField = "applied_guardrails"
	// UsageMetadataNamespace holds the tokens a fast-path answer carried
	// (prompt_tokens, completion_tokens, total_tokens, model), written by
	// the listener's Lua filter and read from the access log (D44, D45).
	UsageMetadataNamespace = "llmgate.usage"
	// FastMetadataNamespace is written on a fast-path request only (D45):
	// "ep", the endpoint, for the fast-path cluster's per-try Lua filter
	// (small, so that reading it per try is cheap).
	FastMetadataNamespace = "llmgate.fast"
	// FastEndpointKey, FastDeploymentsKey and FastStreamKey are the fast
	// path's fields: "ep" the endpoint, "d" the plan's deployment ids (each
	// ended by a newline), "st" a stream. With the module as the upstream
	// filter (D55) they are fields of ContextMetadataNamespace (one
	// namespace fewer for Envoy to parse per request, D70); otherwise of
	// FastMetadataNamespace, which the per-cluster Lua reads whole.
	FastEndpointKey    = "ep"
	FastDeploymentsKey = "d"
	FastStreamKey      = "st"
	// OverrideHostsKey ("oh", in ContextMetadataNamespace) lists the
	// upstream host ("ip:port") of each try the plan sends to the cluster of
	// many hosts, comma-separated in plan order: that cluster's
	// override_host load balancing policy takes the next one per try (D86).
	OverrideHostsKey = "oh"
	// SelectedHostMetadataNamespace ("a": "ip:port") is where that policy
	// writes the host it picked for the try, which the module's upstream
	// filter checks against the try's deployment (D86).
	SelectedHostMetadataNamespace = "llmgate.host"
	SelectedHostKey               = "a"
	// FastAnswerMetadataNamespace is written on a fast-path request only:
	// what the listener's Lua filter adds to a success (D45): "h" the
	// x-litellm-* headers every attempt shares, "a" per plan entry the
	// headers that differ ("h"), the restamp model ("m") and prices ("c",
	// "ci", "co"), "s" the request's start (ms).
	FastAnswerMetadataNamespace = "llmgate.fp"
	// SpacedMetadataNamespace is written by the attempt filter when a try's
	// response carries the wait before its retry on the same deployment
	// (field "after": the try's index), so that the next try does not wait
	// again (docs/architecture.md D18).
	SpacedMetadataNamespace = "llmgate.spaced"
)

// DeploymentClusterPrefix starts the Envoy cluster name of every deployment.
const DeploymentClusterPrefix = "dep_"

// HostClusterPrefix starts the name of a cluster that serves every fast-path
// deployment of one upstream host in module mode (D62): the deployment of a
// try is the plan's entry for it, not the cluster. It starts with
// DeploymentClusterPrefix, so Envoy's stats and a merge into a bring-your-own
// listener treat it as a deployment cluster.
const HostClusterPrefix = DeploymentClusterPrefix + "host_"

// IsHostCluster reports whether an Envoy cluster is an upstream host's.
func IsHostCluster(name string) bool { return strings.HasPrefix(name, HostClusterPrefix) }

// ClusterName is the Envoy cluster of a deployment.
func ClusterName(deploymentID string) string { return DeploymentClusterPrefix + deploymentID }

// ProviderClusterName is the cluster of a `model: "*"` deployment for one
// provider: such a deployment has one cluster per provider with a public
// endpoint, since the provider is known only per request.
func ProviderClusterName(deploymentID, provider string) string {
	return DeploymentClusterPrefix + deploymentID + "_" + provider
}

// The routing table the control plane serves to `llmgate extproc` replicas.
const (
	// RoutingTableType is its xDS type URL.
	RoutingTableType = "type.googleapis.com/llmgate.v1.RoutingTable"
	// RoutingTableName is the name of the one routing table resource.
	RoutingTableName = "llmgate"
)

// The table `llmgate run` pushes to its Envoy's request filter module (D53)
// over ADS on a socket of its own: resources of this type (each a
// google.protobuf.BytesValue holding a part of the table as JSON,
// extproc.ModuleTableCommon under ModuleTableName and
// extproc.ModuleTableShard under ModuleTablePart(i+1), D62).
const (
	ModuleTableType = "type.googleapis.com/google.protobuf.BytesValue"
	ModuleTableName = "llmgate-module"
	// ModuleKeysName is the key table (D57): resources of the same type
	// holding parts of keys.Snapshot as JSON (the common part under this
	// name, key shard i under ModuleKeysName/i), on a stream of their own.
	ModuleKeysName = "llmgate-module-keys"
	// ModuleTableShards is the number of model_list shards of the config
	// table (D62): the common part under ModuleTableName, shard i under
	// ModuleTableName/i.
	ModuleTableShards = 64
)

// ModuleTablePart is the resource name of part p of the config table (0:
// the common part, i+1: model_list shard i).
func ModuleTablePart(p int) string {
	if p <= 0 {
		return ModuleTableName
	}
	return ModuleTableName + "/" + strconv.Itoa(p-1)
}

// ModuleTableNames are the names of every part of the config table.
func ModuleTableNames() []string {
	out := make([]string, ModuleTableShards+1)
	for i := range out {
		out[i] = ModuleTablePart(i)
	}
	return out
}

// ModuleKeysPart is the resource name of part p of the key table (0: the
// common part, i+1: key shard i's base, ViewShards+1+i: its overlay, D78).
func ModuleKeysPart(p int) string {
	if p <= 0 {
		return ModuleKeysName
	}
	return ModuleKeysName + "/" + strconv.Itoa(p-1)
}

// Client-side credentials (D156): a request that carries its own api_key or
// api_base goes to one of these original-destination clusters (plain http,
// or TLS with the SNI and certificate name of ClientSideSNIHeader), to the
// address the request filter resolved and wrote in llmgate.ctx
// ClientSideDstKey. Their names do not start with DeploymentClusterPrefix: no
// deployment id can name them. The attempt filter of such a cluster is told
// ClientSideDeployment and takes the try's deployment from the plan.
const (
	ClientSideCluster    = "llmgate_clientside"
	ClientSideTLSCluster = "llmgate_clientside_tls"
	ClientSideDeployment = "llmgate:clientside"
	ClientSideDstKey     = "dst"
	ClientSideSNIHeader  = "x-llmgate-sni"
)

// IsClientSideCluster reports whether an Envoy cluster is a client-side one.
func IsClientSideCluster(name string) bool {
	return name == ClientSideCluster || name == ClientSideTLSCluster
}
