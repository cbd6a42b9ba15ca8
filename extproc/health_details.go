package extproc

// healthView is /health's answer as health_check_details reads it: with
// details off (health_check_details: false) each healthy and unhealthy
// endpoint is listed by its model only — LiteLLM keeps an endpoint's
// MINIMAL_DISPLAY_PARAMS, model and mode_error, of which llmgate has the
// model — and the counts stay; r (a check run, kept by the background
// checks) is not changed.
func healthView(st *State, r map[string]any) map[string]any {
	if !st.Cfg.General.HealthCheckHidesDetails {
		return r
	}
	out := make(map[string]any, len(r))
	for k, v := range r {
		out[k] = v
	}
	for _, k := range []string{"healthy_endpoints", "unhealthy_endpoints"} {
		eps, _ := r[k].([]healthEndpoint)
		minimal := make([]map[string]string, 0, len(eps))
		for _, ep := range eps {
			minimal = append(minimal, map[string]string{"model": ep.Model})
		}
		out[k] = minimal
	}
	return out
}
