package gateway

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/xds"
)

// RunControlPlane serves only the ADS control plane on listenAddr (TCP), for
// fleets where many Envoys read one control plane and ext_proc runs apart
// (Options.ExtProcAddress says where Envoy reaches it). The config file is
// watched as in `llmgate run`.
func RunControlPlane(ctx context.Context, o Options, listenAddr string) error {
	if o.ExtProcAddress == "" {
		return fmt.Errorf("controlplane: --extproc-address is required (where Envoy reaches `llmgate extproc`)")
	}
	g := &Gateway{o: o, log: o.Log}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	logWarnings(g.log, cfg)
	res, err := xds.Build(cfg, g.xdsOptions())
	if err != nil {
		return fmt.Errorf("compile config: %w", err)
	}
	g.xds = xds.NewServer(g.log)
	if err := g.xds.Set(ctx, res); err != nil {
		return err
	}
	g.cfg, g.version = cfg, res.Version
	g.publishTable(cfg, res.Version)
	l, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return err
	}
	sopts, err := serverOptions(o.ListenTLS)
	if err != nil {
		return fmt.Errorf("controlplane: %w", err)
	}
	gs := grpc.NewServer(sopts...)
	g.xds.Register(ctx, gs)
	stopHealth := healthService(gs, "envoy.service.discovery.v3.AggregatedDiscoveryService")
	go func() { <-ctx.Done(); stopHealth(); g.gracefulStop(gs) }()
	if o.ConfigPath != "" {
		go g.watch(ctx, o.ConfigPath)
	}
	g.log.Info("control plane serving ADS", "address", l.Addr().String(), "tls", tlsMode(o.ListenTLS), "config_version", res.Version, "extproc", o.ExtProcAddress)
	return gs.Serve(l)
}

// RunExtProc serves only the ext_proc filters on listenAddr (TCP), for
// ext_proc replicas run as sidecars or as a Service. Each replica reads and
// watches the config file itself and shares state through Redis when the
// config names one; replicas keep nothing between streams.
func RunExtProc(ctx context.Context, o Options, listenAddr string) error {
	g := &Gateway{o: o, log: o.Log}
	var cfg *config.Config
	var err error
	var tables <-chan table
	var tableKey []byte
	var tableVersion string
	if o.XDSAddress != "" {
		// The control plane serves the config: wait for the first table.
		creds, err := dialCredentials(o.XDSClientTLS)
		if err != nil {
			return fmt.Errorf("extproc: --xds-tls-*: %w", err)
		}
		tables = watchRoutingTable(ctx, o.XDSAddress, creds, g.log)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case tb := <-tables:
			cfg, tableKey, tableVersion = tb.cfg, tb.ticketKey, tb.version
		}
	} else if cfg, err = g.load(); err != nil {
		return err
	}
	logWarnings(g.log, cfg)
	g.store, err = g.openStore(cfg)
	if err != nil {
		return err
	}
	defer g.store.Close()
	if _, err := g.openKeys(ctx, cfg); err != nil {
		return err
	}
	defer g.closeKeys()
	g.workDir, err = os.MkdirTemp("", "llmgate-extproc-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(g.workDir)
	res, err := xds.Build(cfg, g.xdsOptions())
	if err != nil {
		return fmt.Errorf("compile config: %w", err)
	}
	version := res.Version
	if tableVersion != "" {
		// The control plane's version: every process names the same one.
		version = tableVersion
	}
	state := g.newState(cfg, res.Model, version)
	if tableKey != nil {
		state.SetTicketKey(tableKey)
	}
	g.ext = extproc.NewServer(state, g.log)
	g.cfg, g.version = cfg, version
	defer g.startOutcomes(cfg).Close()
	if err := g.serveMetrics(ctx); err != nil {
		return fmt.Errorf("--metrics-address %q: %w", o.MetricsAddress, err)
	}
	l, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return err
	}
	sopts, err := serverOptions(o.ListenTLS)
	if err != nil {
		return fmt.Errorf("extproc: %w", err)
	}
	gs := grpc.NewServer(append(extProcServerOptions(), sopts...)...)
	g.ext.Register(gs)
	stopHealth := healthService(gs, xds.ExtProcHealthService)
	go func() {
		<-ctx.Done()
		// NOT_SERVING first; Envoy's health check (every second) moves new
		// streams to the other replicas before this one stops taking them.
		stopHealth()
		if o.DrainDelay > 0 {
			g.log.Info("draining: health NOT_SERVING, new streams move to other replicas", "drain_delay", o.DrainDelay.String())
			time.Sleep(o.DrainDelay)
		}
		// Envoy's access-log streams last as long as Envoy: end them, so
		// Envoy logs to another replica and the drain waits only for the
		// requests in flight.
		g.ext.EndAccessLogs()
		g.gracefulStop(gs)
	}()
	switch {
	case tables != nil:
		go func() {
			from := version
			for tb := range tables {
				st := g.newState(tb.cfg, nil, tb.version)
				st.SetTicketKey(tb.ticketKey)
				g.ext.Swap(st)
				logReloaded(g.log, from, tb.version, len(tb.cfg.Models), "control_plane")
				from = tb.version
			}
		}()
	case o.ConfigPath != "":
		go g.watch(ctx, o.ConfigPath)
	}
	g.log.Info("ext_proc serving", "address", l.Addr().String(), "tls", tlsMode(o.ListenTLS), "config_version", version)
	return gs.Serve(l)
}

// gracefulStop lets the gRPC streams in flight (ext_proc streams, ADS
// streams) finish for up to DrainTimeout, then cuts them.
func (g *Gateway) gracefulStop(gs *grpc.Server) {
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(g.o.DrainTimeout):
		g.log.Warn("drain timeout: gRPC streams still open are cut", "drain_timeout", g.o.DrainTimeout.String())
		gs.Stop()
	}
}

// tlsMode names a served link's security for the log.
func tlsMode(t TLSFiles) string {
	switch {
	case t.ClientCA != "":
		return "mtls"
	case t.Enabled():
		return "tls"
	}
	return "plaintext"
}
