package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/metrics"
	"github.com/llmgate/llmgate/internal/outcome"
)

// startOutcomes creates the outcome bus the attempt filter publishes each
// try on, and registers the sinks the config asks for (metrics; later spend
// and logging callbacks). Sinks consume off the request path
// (internal/outcome). The caller closes the bus once the ext_proc server has
// stopped, so queued events are drained.
func (g *Gateway) startOutcomes(cfg *config.Config) *outcome.Bus {
	bus := outcome.NewBus()
	g.outcomes = bus
	for _, reg := range g.o.OutcomeSinks {
		reg(bus, cfg)
	}
	if g.keys != nil {
		bus.Register(keys.SpendSink, keys.SinkQueue, g.keys.OnTry)
	}
	if g.ext != nil {
		g.ext.Outcomes = bus
	}
	g.ensureMetrics(cfg)
	return bus
}

// metricsSink is the name of the Prometheus sink on the bus.
const metricsSink = "prometheus"

// ensureMetrics starts the Prometheus sink when the config names the
// prometheus callback or --metrics-address is set, once: a reload that turns
// the callback on starts it (its buckets are those of that config); turning
// it off again only hides the gateway port's /metrics.
func (g *Gateway) ensureMetrics(cfg *config.Config) {
	if g.metrics != nil || g.outcomes == nil || (!cfg.LiteLLM.Prometheus() && g.o.MetricsAddress == "") {
		return
	}
	bus := g.outcomes
	g.metrics = metrics.New(cfg.LiteLLM.PrometheusLatencyBuckets, func() float64 {
		for _, s := range bus.Stats() {
			if s.Name == metricsSink {
				return float64(s.Dropped)
			}
		}
		return 0
	})
	bus.Register(metricsSink, 0, g.metrics.Sink())
	if g.ext != nil {
		g.ext.SetMetrics(g.metrics.Handler())
	}
}

// serveMetrics serves /metrics on --metrics-address (no authentication:
// bind it where only scrapers reach it) until ctx ends.
func (g *Gateway) serveMetrics(ctx context.Context) error {
	if g.o.MetricsAddress == "" || g.metrics == nil {
		return nil
	}
	l, err := net.Listen("tcp", g.o.MetricsAddress)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", g.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("metrics listener stopped", "error", err.Error())
		}
	}()
	g.log.Info("metrics serving", "address", l.Addr().String())
	if g.o.MetricsReady != nil {
		g.o.MetricsReady(l.Addr().String())
	}
	return nil
}
