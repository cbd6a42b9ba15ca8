package model

// ShuffleWeights are simple-shuffle's weights for a set of deployments of
// one group, in LiteLLM's order: litellm_params.weight when any of them
// sets it, else rpm, else tpm; nil when none does (all equal). A deployment
// whose weight is 0 (or negative) while others have one is picked only
// after every weighted one. The runtime order (router, over the healthy
// deployments) and the default plan rendered into Envoy's routes (xds, over
// the group: Group.Weights) both come from here.
func ShuffleWeights(ds []*Deployment) []float64 {
	var anyWeight, anyRPM, anyTPM bool
	for _, d := range ds {
		anyWeight = anyWeight || d.shuffle.weight > 0
		anyRPM = anyRPM || d.shuffle.rpm > 0
		anyTPM = anyTPM || d.shuffle.tpm > 0
	}
	if !anyWeight && !anyRPM && !anyTPM {
		return nil
	}
	out := make([]float64, len(ds))
	for i, d := range ds {
		var w float64
		switch {
		case anyWeight:
			w = d.shuffle.weight
		case anyRPM:
			w = float64(d.shuffle.rpm)
		default:
			w = float64(d.shuffle.tpm)
		}
		out[i] = max(w, 0)
	}
	return out
}
