package extproc

import (
	"net/url"
	"time"

	"github.com/llmgate/llmgate/internal/alerting"
	"github.com/llmgate/llmgate/internal/model"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// SetHangingWatch sets (nil: clears) the llm_requests_hanging watch: each
// planned request is handed to it once, without blocking (the alerter's
// queue drops rather than waits). Safe while requests are served.
func (s *Server) SetHangingWatch(fn func(alerting.Begun)) {
	if fn == nil {
		s.hangingWatch.Store(nil)
		return
	}
	s.hangingWatch.Store(&fn)
}

// begun tells the hanging-request watch, when one is on, that a planned
// request is about to be tried.
func (s *Server) begun(ctx *llmgatev1.RequestContext, first *model.Deployment) {
	fn := s.hangingWatch.Load()
	if fn == nil {
		return
	}
	b := alerting.Begun{CallID: ctx.CallId, Model: ctx.RequestedModel, TeamID: ctx.TeamId, KeyAlias: ctx.KeyAlias,
		Start: time.Unix(0, ctx.StartUnixNano)}
	if first != nil {
		b.DeploymentID = first.ID
		if u, err := url.Parse(first.APIBase); err == nil {
			b.APIBase = u.Host
		}
	}
	(*fn)(b)
}
