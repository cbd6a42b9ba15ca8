package extproc

import (
	"context"
	"time"

	"github.com/llmgate/llmgate/config"
)

// RunBackgroundHealth is general_settings.background_health_checks: while
// the config in force sets it, every deployment is checked (the /health
// machinery, D13: one pinned call through Envoy each) every
// health_check_interval, off the request path, and /health answers from the
// latest run. Each check is an ordinary try for the attempt filter, so its
// outcome is reported to the router (a failure counts toward the
// deployment's cooldown under allowed_fails, as LiteLLM feeds its background
// results into cooldowns) and published on the outcome bus
// (litellm_deployment_state). It returns when ctx ends.
func (s *Server) RunBackgroundHealth(ctx context.Context) {
	for {
		st := s.State()
		if st.Cfg.General.BackgroundHealthChecks && s.SelfURL != "" {
			r := s.healthCheck(st, false)
			s.lastHealth.Store(&r)
		}
		interval := st.Cfg.General.HealthCheckInterval
		if interval <= 0 {
			interval = config.DefaultHealthCheckInterval
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// latestHealth is the latest background run: LiteLLM's answer shape, empty
// lists before the first run ends.
func (s *Server) latestHealth() map[string]any {
	if r := s.lastHealth.Load(); r != nil {
		return *r
	}
	return map[string]any{"healthy_endpoints": []healthEndpoint{}, "unhealthy_endpoints": []healthEndpoint{},
		"healthy_count": 0, "unhealthy_count": 0}
}
