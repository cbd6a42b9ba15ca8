package gateway

import (
	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/outcome"
)

// startOutcomes creates the outcome bus the attempt filter publishes each
// try on, and registers the sinks the config asks for (metrics, spend,
// logging callbacks). Sinks consume off the request path (internal/outcome).
// The caller closes the bus once the ext_proc server has stopped, so queued
// events are drained.
func (g *Gateway) startOutcomes(cfg *config.Config) *outcome.Bus {
	bus := outcome.NewBus()
	for _, reg := range g.o.OutcomeSinks {
		reg(bus, cfg)
	}
	g.outcomes = bus
	if g.ext != nil {
		g.ext.Outcomes = bus
	}
	return bus
}
