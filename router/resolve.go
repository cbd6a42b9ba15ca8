package router

import (
	"sort"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/model"
)

// InvalidModelError is returned by Resolve for a model name that matches no
// alias, model group or wildcard pattern. The caller answers it with an
// OpenAI-format 400.
type InvalidModelError = model.InvalidModelError

// Resolution is a requested model name resolved to a model group.
type Resolution = model.Resolution

// Target is a deployment of a resolved group, with the provider model id to
// call (wildcards substituted).
type Target = model.Target

// Resolve maps a requested model name to its model group (model.Resolve:
// model_group_alias, exact name, wildcard patterns).
func (r *Router) Resolve(requested string) (Resolution, error) {
	return r.m.Resolve(requested)
}

// Targets returns the deployments of a resolved group with the provider model
// to call.
func (r *Router) Targets(res Resolution) []Target { return r.m.Targets(res) }

// Group is one entry of /models.
type Group struct {
	Name        string
	AliasOf     string // set for a model_group_alias entry
	Wildcard    bool
	Deployments []string // deployment ids
}

// Groups lists the model groups in config order, then the aliases that are
// not hidden (sorted by name).
func (r *Router) Groups() []Group {
	out := make([]Group, 0, len(r.m.Groups)+len(r.m.Aliases))
	for _, mg := range r.m.Groups {
		g := Group{Name: mg.Name, Wildcard: mg.Wildcard}
		for _, d := range mg.Deployments {
			g.Deployments = append(g.Deployments, d.ID)
		}
		out = append(out, g)
	}
	names := make([]string, 0, len(r.m.Aliases))
	for a := range r.m.Aliases {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, a := range names {
		al := r.m.Aliases[a]
		if al.Hidden {
			continue
		}
		g := Group{Name: a, AliasOf: al.Group}
		for _, d := range r.m.GroupDeployments(al.Group) {
			g.Deployments = append(g.Deployments, d.ID)
		}
		out = append(out, g)
	}
	return out
}

// Deployment returns a deployment by id, as written in the config (its
// pass-through parameters); Model().Deployment has what the model compiled.
func (r *Router) Deployment(id string) (*config.Deployment, bool) {
	d, ok := r.m.Deployment(id)
	if !ok {
		return nil, false
	}
	return d.Config, true
}

// GroupDeployments returns the deployments of a model group (config order),
// as written in the config.
func (r *Router) GroupDeployments(group string) []*config.Deployment {
	ds := r.m.GroupDeployments(group)
	out := make([]*config.Deployment, len(ds))
	for i, d := range ds {
		out[i] = d.Config
	}
	return out
}
