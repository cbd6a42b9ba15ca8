package extproc

import (
	"math/rand/v2"
	"strings"

	"github.com/llmgate/llmgate/config"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
	"github.com/llmgate/llmgate/xds"
)

type configDeployment = config.Deployment

// plan builds the attempt plan: 1 + num_retries tries on the group (other
// deployments first, weighted), then each fallback group with its own tries.
func (s *Server) plan(st *State, res router.Resolution, f *requestFields) ([]*llmgatev1.Attempt, *translator.Error) {
	retries := st.Cfg.Router.NumRetries
	if f.NumRetries != nil && *f.NumRetries >= 0 {
		retries = *f.NumRetries
	}
	var plan []*llmgatev1.Attempt
	add := func(r router.Resolution, fallback int) bool {
		targets := st.Router.Targets(r)
		order := weightedOrder(st, targets)
		if len(order) == 0 {
			return false
		}
		n := 1 + retries
		if d, ok := st.Router.Deployment(order[0].DeploymentID); ok && d.Params.MaxRetries != nil && (f.NumRetries == nil) {
			n = 1 + *d.Params.MaxRetries
		}
		for i := 0; i < n; i++ {
			t := order[i%len(order)]
			d, _ := st.Router.Deployment(t.DeploymentID)
			if len(plan) > 0 && d != nil && d.Params.MockResponse != nil {
				continue
			}
			plan = append(plan, &llmgatev1.Attempt{DeploymentId: t.DeploymentID, ModelGroup: t.Group, Model: t.Model, FallbackIndex: int32(fallback)})
		}
		return true
	}
	if !add(res, 0) {
		return nil, &translator.Error{Status: 429, Type: "rate_limit_error", Code: "429",
			Message: "No deployments available for selected model. model_group=" + res.Group}
	}
	fbs := fallbackGroups(st.Cfg, res.Group, f.Fallbacks)
	n := 0
	for _, g := range fbs {
		if n >= st.Cfg.Router.MaxFallbacks {
			break
		}
		if g == res.Group {
			continue
		}
		r, err := st.Router.Resolve(g)
		if err != nil {
			continue
		}
		n++
		add(r, n)
	}
	return plan, nil
}

// fallbackGroups finds a group's fallbacks: client-sent ones first, then the
// exact group, the group without its provider prefix, then "*" (default_fallbacks).
func fallbackGroups(cfg *config.Config, group string, client []string) []string {
	if len(client) > 0 {
		return client
	}
	find := func(key string) []string {
		for _, fb := range cfg.Router.Fallbacks {
			if fb.Group == key {
				return fb.To
			}
		}
		return nil
	}
	if to := find(group); to != nil {
		return to
	}
	if i := strings.IndexByte(group, '/'); i >= 0 {
		if to := find(group[i+1:]); to != nil {
			return to
		}
	}
	if to := find("*"); to != nil {
		return to
	}
	return cfg.Router.DefaultFallbacks
}

// weightedOrder orders targets by weighted sampling without replacement.
func weightedOrder(st *State, targets []router.Target) []router.Target {
	group := make([]*config.Deployment, 0, len(targets))
	for _, t := range targets {
		if d, ok := st.Router.Deployment(t.DeploymentID); ok {
			group = append(group, d)
		}
	}
	type wt struct {
		t router.Target
		w float64
	}
	pool := make([]wt, 0, len(targets))
	for _, t := range targets {
		d, ok := st.Router.Deployment(t.DeploymentID)
		if !ok {
			continue
		}
		w := float64(xds.Weight(d, group))
		if w <= 0 {
			continue
		}
		pool = append(pool, wt{t, w})
	}
	out := make([]router.Target, 0, len(pool))
	for len(pool) > 0 {
		var sum float64
		for _, p := range pool {
			sum += p.w
		}
		x := rand.Float64() * sum
		i := 0
		for ; i < len(pool)-1; i++ {
			x -= pool[i].w
			if x < 0 {
				break
			}
		}
		out = append(out, pool[i].t)
		pool = append(pool[:i], pool[i+1:]...)
	}
	return out
}
