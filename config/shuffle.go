package config

// ShuffleWeights are simple-shuffle's weights for a set of deployments of
// one group, in LiteLLM's order: litellm_params.weight when any of them
// sets it, else rpm, else tpm; nil when none does (all equal). A deployment
// whose weight is 0 (or negative) while others have one is picked only
// after every weighted one. The runtime order and the default plan
// rendered into Envoy's routes both come from here.
func ShuffleWeights(ds []*Deployment) []float64 {
	var anyWeight, anyRPM, anyTPM bool
	for _, d := range ds {
		anyWeight = anyWeight || d.Params.Weight > 0
		anyRPM = anyRPM || d.Params.RPM > 0
		anyTPM = anyTPM || d.Params.TPM > 0
	}
	if !anyWeight && !anyRPM && !anyTPM {
		return nil
	}
	out := make([]float64, len(ds))
	for i, d := range ds {
		var w float64
		switch {
		case anyWeight:
			w = d.Params.Weight
		case anyRPM:
			w = float64(d.Params.RPM)
		default:
			w = float64(d.Params.TPM)
		}
		out[i] = max(w, 0)
	}
	return out
}
