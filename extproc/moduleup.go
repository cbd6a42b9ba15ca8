package extproc

import (
	"strconv"
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
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
// cluster's own attempt filter) keeps it. On an upstream host's cluster
// (D62) the deployment is the plan's entry for the try's attempt number.
func (s *Server) sharedAttempt(st *State, depID, prov string, msg *extprocv3.ProcessingRequest) (string, string) {
	if depID != "" {
		return depID, prov
	}
	c := clusterOf(msg)
	if contract.IsClientSideCluster(c) {
		return contract.ClientSideDeployment, prov // (attempt: clientTryDeployment, D156)
	}
	if contract.IsHostCluster(c) {
		idx, ok := attemptIndex(msg)
		if !ok {
			idx = requestAttemptIndex(msg)
		}
		rc, _ := decodeContext(contextFromMetadata(msg))
		if d, ok := st.tryDeployment(c, rc, idx); ok {
			return d.ID, d.Provider
		}
		return "", prov // (the try then fails as a removed deployment's)
	}
	if d, ok := st.clusterDeployment(c); ok {
		// (the provider matters only to a `model: "*"` deployment's cluster)
		return d.ID, d.Provider
	}
	return strings.TrimPrefix(c, contract.DeploymentClusterPrefix), prov
}

// requestAttemptIndex is the try index (from 0) a request-headers message
// carries in x-envoy-attempt-count (-1: none).
func requestAttemptIndex(msg *extprocv3.ProcessingRequest) int {
	for _, kv := range msg.GetRequestHeaders().GetHeaders().GetHeaders() {
		if kv.GetKey() != "x-envoy-attempt-count" {
			continue
		}
		v := kv.GetValue()
		if v == "" {
			v = string(kv.GetRawValue())
		}
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n - 1
		}
	}
	return -1
}

// Upcoming tells the state in force of the state a reload switches to next:
// a reload pushes the module its new table and waits for it before the
// ext_proc filter switches (D62), so in between a try the module planned
// onto a new deployment may reach the attempt filter, which then finds
// the deployment in next.
func (st *State) Upcoming(next *State) { st.upcoming.Store(next) }

func (st *State) upcomingDeployment(id string) (*config.Deployment, bool) {
	if n := st.upcoming.Load(); n != nil {
		return n.Router.Deployment(id)
	}
	return nil, false
}

// planDeployments is llmgate.fast "d" in module mode: the deployment id of
// every plan entry, in order, each ended by a newline, from which the
// module's upstream filter takes a try's deployment on an upstream host's
// cluster by its attempt number (D62).
func planDeployments(plan []*llmgatev1.Attempt) string {
	n := 0
	for _, a := range plan {
		n += len(a.DeploymentId) + 1
	}
	b := make([]byte, 0, n)
	for _, a := range plan {
		b = append(b, a.DeploymentId...)
		b = append(b, '\n')
	}
	return string(b)
}

// tryDeployment is the deployment of try i (from 0) of a request on an
// Envoy cluster: the cluster's own deployment, or on an upstream host's
// cluster (D62) the plan's entry for the try (rc's attempts: Envoy takes
// attempt n from priority group n, D1).
func (st *State) tryDeployment(cluster string, rc *llmgatev1.RequestContext, i int) (*config.Deployment, bool) {
	if !contract.IsHostCluster(cluster) {
		return st.clusterDeployment(cluster)
	}
	if rc == nil || i < 0 || i >= len(rc.Attempts) {
		return nil, false
	}
	return st.deployment(rc.Attempts[i].DeploymentId)
}

// pathsPerTry: something sets each fast try's path and host (the clusters'
// Lua filter, or the module in the router's upstream filters), so a plan of
// several attempts may be fast.
func (s *Server) pathsPerTry(st *State) bool { return st.fastLua || s.ModuleUpstream }

// moduleModel compiles the config the module plans with as the gateway
// compiled it for Envoy (xds.Build): in module mode every fast-path
// deployment on its upstream host's cluster (D62).
func moduleModel(cfg *config.Config, mc ModuleConfig) *model.Model {
	m := model.Compile(cfg)
	if mc.Upstream {
		xds.HostClusters(m)
	}
	return m
}

// Model is the compiled config the module's filter plans with.
func (m *ModuleFilter) Model() *model.Model { return m.st.Router.Model() }
