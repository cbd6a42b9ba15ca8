package extproc

import "github.com/llmgate/llmgate/internal/contract"

// oneCluster is the cluster of every try of a module-upstream fast plan of
// pass-through deployments when they all share one — the fast-path deployments of one upstream host
// (D62) — so that Envoy needs no plan: the module names it in
// xds.ClusterHeader and the cluster route sends every try there (D75). The
// module's upstream filter tells a try's deployment from llmgate.ctx "d".
func (r *routed) oneCluster(st *State) (string, bool) {
	if !r.fast || !r.deps || len(r.plan) == 0 {
		return "", false
	}
	one := ""
	for i, a := range r.plan {
		// A pass-through deployment's try: the module's fast try removes
		// the header (xds.ModuleUpstreamTry); a translated plan keeps its
		// plan (the translating try sends the client's headers on).
		d, ok := st.Router.Deployment(a.DeploymentId)
		if !ok || !st.fastDeps.get(st, d, a.Model).fastPath {
			return "", false
		}
		c := planCluster(st, a.DeploymentId, a.Provider)
		if c == "" || i > 0 && c != one {
			return "", false
		}
		one = c
	}
	return one, true
}

// planCluster is the cluster of a plan entry, as planGroup names it.
func planCluster(st *State, id, provider string) string {
	if d := st.compiled(id); d != nil {
		return d.ClusterFor(provider)
	}
	return contract.ClusterName(id)
}
