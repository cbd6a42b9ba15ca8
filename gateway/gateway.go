package gateway

import (
	"context"
	"runtime"
	"strconv"

	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/envoy"
	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/alerting"
	"github.com/llmgate/llmgate/internal/callbacks"
	"github.com/llmgate/llmgate/internal/jwtauth"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/metrics"
	"github.com/llmgate/llmgate/internal/metrics/services"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/xds"
)

// Options for Run.
type Options struct {
	ConfigPath string // empty: the embedded default (DefaultConfig)
	// NoPriorityGroup: routes for Envoys before 1.40 (xds.Options.NoPriorityGroup).
	NoPriorityGroup   bool
	DefaultConfig     []byte
	DefaultConfigName string
	Host              string
	Port              uint32
	EnvoyBinary       string // empty: envoy.FindBinary
	EnvoyLogLevel     string
	EnvoyConcurrency  int
	AccessLog         bool
	// JSONLogs: json_logs; Envoy's access log is JSON too.
	JSONLogs bool
	// AdminAddress exposes Envoy's admin interface on host:port (for stats
	// scrapers). Empty: a Unix socket (0600) in the private 0700 work dir,
	// reachable only by this user.
	AdminAddress string
	// ExtProcAddress (split mode): where Envoy reaches `llmgate extproc`
	// instead of the in-process Unix socket.
	ExtProcAddress string
	// XDSAddress (split mode, ext_proc): take the config from the control
	// plane's routing table instead of reading the file.
	XDSAddress string
	// MetricsAddress serves /metrics (Prometheus, no authentication) on
	// host:port for scrapers; empty: off. MetricsReady, when set, receives
	// the bound address (port 0 picks one).
	MetricsAddress string
	MetricsReady   func(addr string)
	// ListenTLS (split mode): TLS or mTLS on the gRPC listener of
	// `controlplane` or `extproc`.
	ListenTLS TLSFiles
	// XDSClientTLS (split mode, ext_proc): how XDSAddress is dialed.
	XDSClientTLS TLSFiles
	// ExtProcTLS (split mode, controlplane): Envoy dials ExtProcAddress over
	// TLS with these files (paths on Envoy's host).
	ExtProcTLS xds.TLSFiles
	// OutcomeSinks register extra sinks on the outcome bus at start (tests,
	// embedders); the gateway's own sinks are chosen from the config.
	OutcomeSinks []func(*outcome.Bus, *config.Config)
	// DrainTimeout bounds how long in-flight requests and streams may run
	// after SIGTERM (drain.go); 0: stop at once.
	DrainTimeout time.Duration
	// DrainDelay (split mode, ext_proc): how long the replica reports
	// NOT_SERVING and still takes new streams before it drains, so Envoy's
	// health check moves traffic away first.
	DrainDelay time.Duration
	// NoBindCheck skips trying Host:Port before Envoy starts (Envoy's own
	// rejection of the listener still ends the run).
	NoBindCheck bool
	// DataDir holds the embedded key store and the spend write-ahead file
	// (empty: $LLMGATE_DATA_DIR, else ~/.llmgate).
	DataDir string
	// RequestFilter is RequestFilterAuto (default, also ""): the module when
	// it can run, else ext_proc with a warning (requestfilter.go, D56);
	// RequestFilterModule: llmgate's dynamic module in Envoy before the
	// ext_proc request filter, or no start (module.go, D53);
	// RequestFilterExtProc: the ext_proc request filter alone.
	// DynamicModule is the module's file (default: moduleCandidates).
	RequestFilter string
	DynamicModule string
	// again: Run's second start, with ext_proc after the module was not
	// confirmed (the config's warnings are not logged twice).
	again bool
	// Ready, when set, receives the admin address once Envoy serves the listener.
	Ready func(adminAddr string)
	Log   *slog.Logger
	// Stdout receives Envoy's access log; Stderr its log.
	Stdout, Stderr io.Writer
}

// Gateway is a running `llmgate run`.
type Gateway struct {
	o       Options
	log     *slog.Logger
	xds     *xds.Server
	ext     *extproc.Server
	store   store.Store
	pins    *router.Pins // the router's stored pins (pins.go, D179)
	workDir string

	keys     *keys.Service         // nil without master_key or database_url
	jwt      jwtKeys               // enable_jwt_auth's public keys (jwtauth.go)
	oauth2   *jwtauth.Introspector // enable_oauth2_auth's (jwtauth.go; under jwt.mu)
	keyStore keystore.Store
	// outcomes carries each upstream try's outcome to the sinks.
	outcomes *outcome.Bus
	metrics  *metrics.Metrics
	// callbacks delivers the logging callbacks (nil: none configured yet);
	// callbackMetrics: its counters are on the metrics registry.
	callbacks       *callbacks.Manager
	callbackMetrics bool
	// serviceHooks: where the Redis and PostgreSQL clients report their
	// calls (service_callback: ["prometheus_system"]).
	serviceHooks   services.Hooks
	callbacksKeyed bool               // the callbacks sink serves key and team metadata only (D64)
	auditCB        *callbacks.Manager // the audit log's s3 callback (auditlogs.go)
	// envoyStats re-exports Envoy's stats on /metrics (llmgate run only:
	// split-mode replicas have no Envoy of their own); envoyMetrics: it
	// is on the metrics handler.
	envoyStats   *envoyStats
	envoyMetrics bool
	// alerts raises general_settings.alerting's alerts (nil: never on);
	// alertMetrics: its counters are on the metrics registry.
	alerts *alerting.Alerter
	// storedModels: this process adds store_model_in_db deployments to its
	// config and serves /model/new|update|delete (llmgate run, not split mode).
	storedModels bool
	alertMetrics bool

	// module is the in-Envoy request filter's config (nil: ext_proc only);
	// moduleTables pushes it the config and cooldowns (module.go).
	module       *filter.Config
	moduleTables *moduleTables

	mu      sync.Mutex
	cfg     *config.Config
	version string
	// masterKey is a master key rotated through /key/regenerate (masterkey.go).
	masterKey masterKeyOverride

	ticketKeyState
}

// load reads the config from the file or the embedded default.
func (g *Gateway) load() (*config.Config, error) {
	var cfg *config.Config
	var err error
	if g.o.ConfigPath == "" {
		cfg, err = config.Parse(g.o.DefaultConfig, g.o.DefaultConfigName, os.LookupEnv)
	} else {
		cfg, err = config.Load(g.o.ConfigPath)
	}
	if err == nil {
		g.masterKey.apply(cfg)
	}
	return cfg, err
}

func (g *Gateway) xdsOptions() xds.Options {
	o := xds.Options{
		ListenAddress: g.o.Host,
		Port:          g.o.Port,
		AccessLog:     g.o.AccessLog,
		JSONAccessLog: g.o.JSONLogs,
		// Keys as SDS secrets over ADS, no attempt filter on successes (D45);
		// not for the degraded mode of Envoys before 1.40.
		FastPath: !g.o.NoPriorityGroup,
	}
	o.NoPriorityGroup = g.o.NoPriorityGroup
	o.RequestModule = g.module
	if g.o.ExtProcAddress != "" {
		o.ExtProcAddress = g.o.ExtProcAddress
		o.ExtProcTLS = g.o.ExtProcTLS
	} else {
		o.ExtProcSocket = filepath.Join(g.workDir, "extproc.sock")
	}
	// The module's spacing filter is in the router's upstream filters (D59).
	extproc.SetModuleSpacing(xds.ModuleUpstream(o))
	return o
}

// run runs the gateway with the request filter Run chose.
func run(ctx context.Context, o Options) error {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	g := &Gateway{o: o, log: o.Log, storedModels: true}
	slice, err := envoySliceOf() // D94
	if err != nil {
		return err
	}
	bin := o.EnvoyBinary
	if bin == "" {
		var err error
		if bin, err = envoy.FindBinary(); err != nil {
			return err
		}
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	if !o.again {
		logWarnings(g.log, cfg)
		g.logServed(cfg)
	}
	if !o.NoBindCheck {
		if err := checkBind(o.Host, o.Port); err != nil {
			return err
		}
	}
	g.workDir, err = os.MkdirTemp("", "llmgate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(g.workDir)
	var envoyEnv []string
	switch o.RequestFilter {
	case RequestFilterExtProc:
	case RequestFilterModule:
		if o.NoPriorityGroup {
			return fmt.Errorf("--request-filter=module needs Envoy 1.40 (not the degraded mode)")
		}
		if envoyEnv, err = g.moduleSetup(ctx); err != nil {
			return err
		}
		defer g.moduleTables.Stop()
	default:
		return fmt.Errorf("--request-filter must be %s or %s, got %q", RequestFilterExtProc, RequestFilterModule, o.RequestFilter)
	}

	g.store, err = g.openStore(cfg)
	if err != nil {
		return err
	}
	defer g.store.Close()
	if g.moduleTables != nil {
		// The module hears of every cooldown as it starts (D53, D67).
		g.store = g.moduleStore(ctx, g.store)
	}
	g.pins = g.openPins(ctx, g.store)
	if _, err := g.openKeys(ctx, cfg); err != nil {
		return err
	}
	g.useKeyLimits(g.keys) // keys' rpm/tpm leased to the module (D83)
	defer g.closeKeys()
	g.startWithRotatedKey(ctx, cfg) // D78
	if err := g.addStoredModels(ctx, cfg); err != nil {
		return err
	}

	res, err := xds.Build(cfg, g.xdsOptions())
	if err != nil {
		return fmt.Errorf("compile config: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	g.xds = xds.NewServer(g.log)
	if err := g.xds.Set(ctx, res); err != nil {
		return err
	}
	g.publishTable(cfg, res.Version)
	g.ext = extproc.NewServer(g.newState(cfg, res.Model, res.Version), g.log)
	g.ext.SelfURL = selfURL(g.xdsOptions())
	// Whenever a fast-path cluster exists Envoy sends the outcome log to this
	// process (D44), which reports the fast tries no attempt filter saw
	// (successes, connection failures): any plan of fast-path deployments
	// may take the fast path (D45).
	g.ext.OffPathOutcomes = g.xdsOptions().FastPath
	g.ext.ModuleResponses = g.module != nil // the module answers fast requests (D54)
	// In module mode the module sets every fast try's path, host and key (D55).
	g.ext.ModuleUpstream = xds.ModuleUpstream(g.xdsOptions())
	g.publishModuleKeys()
	g.cfg, g.version = cfg, res.Version
	// Closed after the ext_proc server stops (defers run last-in first-out).
	defer g.startOutcomes(cfg).Close()
	if gen := g.publishModule(cfg, res.Version); gen > 0 {
		// Until the module applied its first config, a fast try would reach
		// the provider with nobody to set its path and key: readiness says
		// "starting" (503) until then.
		mt := g.moduleTables
		var ready atomic.Bool
		g.ext.StartupReady = func() bool {
			if !ready.Load() && mt.Applied(gen) {
				ready.Store(true)
			}
			return ready.Load()
		}
	}
	if err := g.serveMetrics(ctx); err != nil {
		return fmt.Errorf("--metrics-address %q: %w", o.MetricsAddress, err)
	}

	// gRPC servers on Unix sockets: Envoy ↔ control plane and Envoy ↔ ext_proc.
	xdsSock := filepath.Join(g.workDir, "xds.sock")
	xl, err := net.Listen("unix", xdsSock)
	if err != nil {
		return err
	}
	el, err := net.Listen("unix", g.xdsOptions().ExtProcSocket)
	if err != nil {
		return err
	}
	xg := grpc.NewServer()
	// The control plane outlives the run context: Envoy is stopped first, so
	// it never sees its config stream cut while it drains.
	xdsCtx, xdsStop := context.WithCancel(context.Background())
	defer xdsStop()
	g.xds.Register(xdsCtx, xg)
	eg := grpc.NewServer(extProcServerOptions()...)
	g.ext.Register(eg)
	go func() { _ = xg.Serve(xl) }()
	go func() { _ = eg.Serve(el) }()
	defer xg.Stop()
	defer eg.Stop()

	noStats := len(cfg.Models) > 1000
	if noStats {
		g.log.Info("per-deployment Envoy cluster stats are off above 1,000 deployments (push time and memory)", "deployments", len(cfg.Models))
	}
	bo := envoy.BootstrapOptions{XDSSocket: xdsSock, NoDeploymentStats: noStats}
	adminPath := filepath.Join(g.workDir, "admin.address")
	extra := []string{}
	if o.AdminAddress == "" {
		bo.AdminSocket = filepath.Join(g.workDir, "admin.sock")
	} else {
		host, port, err := net.SplitHostPort(o.AdminAddress)
		if err != nil {
			return fmt.Errorf("--admin-address %q: %w", o.AdminAddress, err)
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return fmt.Errorf("--admin-address %q: bad port", o.AdminAddress)
		}
		bo.AdminAddress, bo.AdminPort = host, uint32(n)
		// Envoy writes the bound address (port 0 picks one).
		extra = append(extra, "--admin-address-path", adminPath)
	}
	boot, err := envoy.BootstrapJSON(bo)
	if err != nil {
		return err
	}
	bootPath := filepath.Join(g.workDir, "bootstrap.json")
	if err := os.WriteFile(bootPath, boot, 0o600); err != nil {
		return err
	}
	// Envoy outlives the run context: a signal drains it (drain.go) before
	// it is stopped; it still dies with this process (Pdeathsig).
	envoyCtx, envoyStop := context.WithCancel(context.Background())
	defer envoyStop()
	stderr := o.Stderr
	var abi *abiWatch
	if g.module != nil {
		// Envoy says at info level whether the module's ABI matched.
		abi = newABIWatch(o.Stderr)
		stderr = abi
		extra = append(extra, "--component-log-level", "dynamic_modules:info")
	}
	if g.module != nil && g.module.OutcomeDir != "" {
		g.replayModuleOutcomes()
	}
	proc, err := envoy.Start(envoyCtx, envoy.StartOptions{
		Binary: bin, BootstrapPath: bootPath, BaseID: uint32(os.Getpid()), LogLevel: o.EnvoyLogLevel,
		Concurrency: o.EnvoyConcurrency, Stdout: o.Stdout, Stderr: stderr,
		ExtraArgs: extra, Env: envoyEnv, Slice: slice,
		SliceErr: func(err error) {
			g.log.Warn("envoy runs on the kernel's default scheduler slice", "asked", slice, "err", err)
		},
	})
	if err != nil {
		return err
	}
	moduleErr := make(chan error, 1)
	if abi != nil {
		go func() {
			if err := abi.wait(proc.Done()); err != nil {
				if err != errEnvoyExited {
					moduleErr <- err
				}
				return
			}
			g.log.Info("envoy loaded the request filter module", "abi", ModuleABI)
		}()
	}
	g.log.Info("envoy started", "binary", bin, "pid", proc.PID(), "listen", fmt.Sprintf("%s:%d", g.xdsOptions().ListenAddress, res.Listeners[0].GetAddress().GetSocketAddress().GetPortValue()), "config_version", res.Version, "deployments", len(cfg.Models))

	admin := adminEndpoint{socket: bo.AdminSocket, addressFile: adminPath}
	g.mu.Lock()
	g.envoyStats = &envoyStats{admin: &adminEndpoint{socket: bo.AdminSocket, addressFile: adminPath}}
	g.registerEnvoyStats()
	g.mu.Unlock()
	go g.waitReady(ctx, admin, proc, abi)
	if o.ConfigPath != "" {
		go g.watch(ctx, o.ConfigPath)
	}

	select {
	case <-ctx.Done():
		g.drain(proc, &admin)
		return nil
	case <-proc.Done():
		err := fmt.Errorf("envoy exited: %v", proc.Err())
		if abi != nil && !abi.confirmed() {
			return &moduleNotConfirmed{fmt.Errorf("%w before it confirmed the dynamic module", err)}
		}
		return err
	case err := <-moduleErr:
		proc.Stop(5 * time.Second)
		return &moduleNotConfirmed{err}
	case r := <-g.listenerRejected(ctx):
		// Envoy could not take the listener (most often a port bound since
		// the check above): it would never serve, so stop rather than run
		// unready forever.
		proc.Stop(5 * time.Second)
		err := fmt.Errorf("envoy rejected the listener on %s: %s", net.JoinHostPort(o.Host, strconv.Itoa(int(o.Port))), r.Message)
		if moduleRejected(abi, r.Message) {
			return &moduleNotConfirmed{err}
		}
		return err
	}
}

// listenerRejected delivers the first rejection of a listener; rejections of
// other resources (a reload Envoy refused) are logged by the control plane
// and leave the last accepted config serving.
func (g *Gateway) listenerRejected(ctx context.Context) <-chan xds.Rejection {
	out := make(chan xds.Rejection, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case r := <-g.xds.Rejected():
				if r.Listener() {
					out <- r
					return
				}
			}
		}
	}()
	return out
}

// logServed says which config is served, and whether it has a master key.
func (g *Gateway) logServed(cfg *config.Config) {
	if g.o.ConfigPath == "" {
		g.log.Warn("no config file given (path argument, --config or $CONFIG_FILE_PATH): serving the embedded example with mock responses and no master key",
			"config", g.o.DefaultConfigName, "host", g.o.Host)
	} else {
		path := g.o.ConfigPath
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		g.log.Info("serving config", "config", path)
	}
	switch {
	case cfg.General.MasterKeyFromEnv:
		g.log.Info("master key from $LITELLM_MASTER_KEY (general_settings.master_key is not set)")
	case cfg.General.MasterKey == "":
		g.log.Warn("no master key (general_settings.master_key or $LITELLM_MASTER_KEY): every request is served without a key")
	}
}

// waitReady polls Envoy's admin /ready and reports the admin address.
// With the module (abi set), the gateway is ready only once Envoy confirmed
// its ABI version: a listener serving without that word within
// moduleVerdictAfterReady ends the run (moduleNotConfirmed). A large config
// can keep Envoy busy for minutes on a loaded host: past readyWarnAfter the
// gateway says so once and keeps waiting, until the run ends.
func (g *Gateway) waitReady(ctx context.Context, admin adminEndpoint, proc *envoy.Process, abi *abiWatch) {
	c := admin.client()
	start := time.Now()
	warned := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-proc.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		if !warned && time.Since(start) > readyWarnAfter {
			warned = true
			g.log.Warn("envoy is not ready yet; still waiting", "after", readyWarnAfter.String())
		}
		addr, ok := admin.address()
		if !ok {
			continue
		}
		if envoyReady(c, admin.url()) && listenerActive(c, admin.url()) {
			if abi != nil && !g.moduleVerdict(ctx, proc, abi) {
				return
			}
			g.log.Info("gateway ready", "admin", addr, "after", time.Since(start).Round(time.Millisecond).String())
			g.releaseStartupPages()
			// Background health checks go through Envoy: they start once it
			// serves.
			go g.ext.RunBackgroundHealth(ctx)
			if g.o.Ready != nil {
				g.o.Ready(addr)
			}
			return
		}
	}
}

// readyWarnAfter: how long Envoy may take to serve before the gateway says
// it is still waiting.
const readyWarnAfter = 60 * time.Second

func logWarnings(log *slog.Logger, cfg *config.Config) {
	for _, w := range cfg.Warnings {
		log.Warn("config: "+w.Message, "at", w.Pos.String(), "key", w.Key)
	}
}

// openStore picks Redis when router_settings name one, else memory. A
// Redis client reports its calls to service_callback's metrics once they
// start (servicescallbacks.go).
func (g *Gateway) openStore(cfg *config.Config) (store.Store, error) {
	rs := store.RedisSettings{Host: cfg.Router.RedisHost, Port: cfg.Router.RedisPort, Password: cfg.Router.RedisPassword, URL: cfg.Router.RedisURL}
	st, err := store.Open(rs, os.Getenv, nil, g.log)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if r, ok := st.(*store.Redis); ok {
		r.Client().AddHook(g.serviceHooks.Redis())
	}
	return st, nil
}

// extProcServerOptions tune the ext_proc gRPC server for many short streams
// over one local connection: a worker pool instead of a goroutine (and stack
// growth) per stream, shared write buffers, large windows so a big body is
// not chopped by flow control, and message sizes up to the body limit.
func extProcServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(64 << 20),
		grpc.MaxSendMsgSize(64 << 20),
		grpc.NumStreamWorkers(uint32(4 * runtime.GOMAXPROCS(0))),
		grpc.InitialWindowSize(4 << 20),
		grpc.InitialConnWindowSize(16 << 20),
		grpc.ReadBufferSize(64 << 10),
		grpc.WriteBufferSize(64 << 10),
	}
}

// publishTable serves the config to `llmgate extproc --xds-address` replicas.
func (g *Gateway) publishTable(cfg *config.Config, version string) {
	if g.xds == nil {
		return
	}
	rt, err := xds.RoutingTable(cfg, version, g.ticketKey(cfg))
	if err == nil {
		err = g.xds.SetRoutingTable(rt)
	}
	if err != nil {
		g.log.Error("routing table not published", "error", err.Error())
	}
}

// selfURL is how the gateway reaches its own Envoy listener (for /health).
func selfURL(o xds.Options) string {
	host := o.ListenAddress
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	port := o.Port
	if port == 0 {
		port = 4000
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// newState compiles a config for the filters, with the virtual keys and
// this process's ticket key (split-mode replicas then set the routing
// table's). m is cfg compiled (xds.Resources.Model), nil to compile it here.
func (g *Gateway) newState(cfg *config.Config, m *model.Model, version string) *extproc.State {
	st := extproc.NewStateFromModel(cfg, m, g.store, version, g.log).WithPins(g.pins).WithKeys(g.keys).WithJWT(g.jwtVerifier(cfg)).WithOAuth2(g.oauth2Introspector(cfg))
	extproc.StartCloudPass(cfg, g.log) // the /vertex_ai route's token, refreshed off the request path (D169)
	if g.keys != nil {
		g.keys.SetEndUserDefaults(cfg.LiteLLM.MaxEndUserBudget, cfg.LiteLLM.MaxEndUserBudgetID)
		g.keys.SetKeyGenSettings(cfg.LiteLLM.KeyGen)
		g.keys.SetDisableResetBudget(cfg.General.DisableResetBudget)
		g.keys.SetDefaultTeamDisabled(cfg.General.DefaultTeamDisabled)
		g.keys.SetBudgetRescheduler(cfg.General.BudgetReschedulerMin, cfg.General.BudgetReschedulerMax)
		g.keys.SetDisableMasterKeyReturn(cfg.General.DisableMasterKeyReturn)
		if err := g.keys.SetProxyBudget(context.Background(), cfg.LiteLLM.MaxBudget, cfg.LiteLLM.BudgetDuration); err != nil {
			g.log.Warn("litellm_settings.max_budget: the litellm-proxy-budget row not written; the proxy-wide budget is not checked until the next load", "error", err.Error())
		}
		g.keys.SetAccessGroups(accessGroups(cfg))
		g.keys.SetKeyModelDefaults(keyModelDefaults(cfg))
		g.keys.SetModelSettings(g.modelSettings(cfg))
		g.keys.SetSaltKey(modelSecret(cfg)) // encrypted callback variables (D74)
	}
	st.SetTicketKey(g.ticketKey(cfg))
	return st
}
