package router

import (
	"math"

	"github.com/llmgate/llmgate/internal/model"
)

// The affinities of optional_pre_call_checks (D168). LiteLLM's
// DeploymentAffinityCheck keeps a pin per session id or caller key and
// model group in its cache (the deployment that took the first request,
// for deployment_affinity_ttl_seconds) and sends the next requests to it
// while it is healthy. Here the pin is not stored anywhere: it is the
// deployment that weighted rendezvous hashing of (group, key) picks among
// the candidates, so every request filter (the module in Envoy, ext_proc in
// the gateway) and every instance finds the same one with no shared state
// and no round trip; a candidate that cannot take the request (cooling
// down, over a limit) drops out and the key's next choice takes its
// requests until it is back, as LiteLLM's pin does.

// affinityKey is what a request sticks by in a group: its session id when
// the group takes session_affinity and it has one (scoped by its caller, as
// LiteLLM scopes session pins by the key's hash), else its caller when the
// group takes deployment_affinity; "" otherwise.
func (r *Router) affinityKey(group string, req PlanRequest) string {
	a := r.m.Routing.Affinity(group)
	if a.Session && req.Session != "" {
		return "session\x00" + req.Caller + "\x00" + req.Session
	}
	if a.Deployment && req.Caller != "" {
		return "caller\x00" + req.Caller
	}
	return ""
}

// prefers: PlanRequest.Prefer applies in the group (not one whose
// model_group_affinity_config leaves responses_api_deployment_check out).
func (r *Router) prefers(group string) bool {
	a, listed := r.m.Routing.GroupAffinity[group]
	return !listed || a.Responses
}

// stick moves the candidate key picks to the front of ordered (the rest
// keep the strategy's order): the highest weighted rendezvous score
// -w/ln(u), u a hash of the group, key and deployment in (0, 1), so that
// keys spread over the candidates as the group's shuffle weights do.
func stick(ordered []candidate, group, key string) {
	ds := make([]*model.Deployment, len(ordered))
	for i, c := range ordered {
		ds[i] = c.d
	}
	ws := model.ShuffleWeights(ds)
	total := 0.0
	for _, w := range ws {
		total += w
	}
	if total <= 0 {
		ws = nil // (none of the candidates left has a weight: all alike)
	}
	best, bestScore := -1, math.Inf(-1)
	for i, c := range ordered {
		w := 1.0
		if ws != nil {
			w = ws[i]
		}
		if w <= 0 {
			continue
		}
		u := unitHash(group, key, c.t.DeploymentID)
		if s := -w / math.Log(u); s > bestScore {
			best, bestScore = i, s
		}
	}
	if best > 0 {
		c := ordered[best]
		copy(ordered[1:best+1], ordered[:best])
		ordered[0] = c
	}
}

// unitHash maps the strings to (0, 1): FNV-1a over them with a separator,
// mixed (splitmix64's finalizer), its top 53 bits.
func unitHash(parts ...string) float64 {
	h := uint64(14695981039346656037)
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return (float64(h>>11) + 0.5) / (1 << 53)
}
