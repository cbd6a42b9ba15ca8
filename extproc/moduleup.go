package extproc

import (
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/xds"
)

// The attempt filter of module mode (docs/architecture.md D55): one config
// in the router's upstream filters serves every cluster, so its stream
// names no deployment in its gRPC metadata; Envoy sends the try's cluster
// as the attribute xds.ClusterAttribute (with the request headers, or with
// the response headers of a fast try that answered 4xx/5xx).

// clusterOf is the try's cluster named by the stream's first message.
func clusterOf(msg *extprocv3.ProcessingRequest) string {
	return msg.GetAttributes()["envoy.filters.http.ext_proc"].GetFields()[xds.ClusterAttribute].GetStringValue()
}

// sharedAttempt fills in the deployment of a stream of the shared attempt
// filter from its first message; a stream that names its deployment (a
// cluster's own attempt filter) keeps it.
func (s *Server) sharedAttempt(st *State, depID, prov string, msg *extprocv3.ProcessingRequest) (string, string) {
	if depID != "" {
		return depID, prov
	}
	c := clusterOf(msg)
	if d, ok := st.clusterDeployment(c); ok {
		// (the provider matters only to a `model: "*"` deployment's cluster)
		return d.ID, d.Provider
	}
	return strings.TrimPrefix(c, contract.DeploymentClusterPrefix), prov
}

// pathsPerTry: something sets each fast try's path and host (the clusters'
// Lua filter, or the module in the router's upstream filters), so a plan of
// several attempts may be fast.
func (s *Server) pathsPerTry(st *State) bool { return st.fastLua || s.ModuleUpstream }

// Model is the compiled config the module's filter plans with.
func (m *ModuleFilter) Model() *model.Model { return m.st.Router.Model() }
