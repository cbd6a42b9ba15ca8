package router

import "github.com/llmgate/llmgate/config"

// MayCoolDown reports whether a failure of the deployment can cool it down
// (not with disable_cooldowns, never a wildcard deployment, never the only
// deployment of its group). The request filter's fast path (D45) reads it.
func (r *Router) MayCoolDown(d *config.Deployment) bool {
	md, ok := r.m.Deployment(d.ID)
	return ok && r.mayCoolDown(md)
}
