package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/envoy"
	"github.com/llmgate/llmgate/examples"
	"github.com/llmgate/llmgate/gateway"
	"github.com/llmgate/llmgate/internal/byo"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/xds"
)

const usage = `llmgate runs a LiteLLM proxy config.yaml on Envoy.

Usage:
  llmgate run      [config.yaml | --config FILE] [--host 0.0.0.0] [--port 4000] [--num_workers N]
  llmgate validate [config.yaml | --config FILE] [--no-env]
  llmgate render   [config.yaml | --config FILE] [--mode static|fragments|merge|xds | --target istio|envoy-gateway] [--extproc-address HOST:PORT]
                   for your own Envoy: a complete bootstrap, fragments for a listener you run, or the merge
  llmgate version  (also --version): llmgate's module version and the Envoy it would run

Split into pieces, for fleets:
  llmgate controlplane [config.yaml | --config FILE] --listen 0.0.0.0:18000 --extproc-address HOST:PORT [--port 4000]
  llmgate extproc      [config.yaml | --config FILE | --xds-address HOST:PORT] --listen 0.0.0.0:50051
  llmgate bootstrap    --xds-address HOST:PORT [--into envoy.yaml]
                       an Envoy bootstrap pointing at the control plane (or yours, with ADS added)

` + "`llmgate --config FILE ...`" + ` (no command) is ` + "`llmgate run`" + `, as ` + "`litellm --config`" + ` is.
The config comes from the path argument or --config, else $CONFIG_FILE_PATH,
else the embedded offline example (examples/default.yaml, served on 127.0.0.1
only unless --host or $HOST says otherwise). ` + "`llmgate COMMAND -h`" + ` lists a command's flags.

` + envHelp

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	if strings.HasPrefix(cmd, "-") && cmd != "-h" && cmd != "--help" && cmd != "-help" && cmd != "--version" && cmd != "-version" {
		// `litellm --config config.yaml --port 4000` habit: run.
		cmd, args = "run", os.Args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = runCmd(args)
	case "validate":
		err = validateCmd(args, os.Stdout)
	case "render":
		err = renderCmd(args, os.Stdout)
	case "controlplane":
		err = splitCmd("controlplane", args)
	case "extproc":
		err = splitCmd("extproc", args)
	case "bootstrap":
		err = bootstrapCmd(args, os.Stdout)
	case "version", "--version", "-version":
		err = versionCmd(os.Stdout)
	case "-h", "--help", "-help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "llmgate: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		var le *config.LoadError
		var ue usageError
		switch {
		case errors.As(err, &le):
			for _, d := range le.Diagnostics {
				fmt.Fprintln(os.Stderr, d.String())
			}
			fmt.Fprintf(os.Stderr, "llmgate: config has %d error(s)\n", len(le.Diagnostics))
		case errors.As(err, &ue):
			fmt.Fprintln(os.Stderr, "llmgate:", err)
			os.Exit(2)
		default:
			fmt.Fprintln(os.Stderr, "llmgate:", err)
		}
		os.Exit(1)
	}
}

// versionCmd prints llmgate's module version and the version of the Envoy
// that `llmgate run` would start.
func versionCmd(out io.Writer) error {
	fmt.Fprintf(out, "llmgate %s\n", moduleVersion())
	bin, err := envoy.FindBinary()
	if err != nil {
		fmt.Fprintf(out, "envoy: %v\n", err)
		return nil
	}
	v, err := envoy.Version(bin)
	if err != nil {
		fmt.Fprintf(out, "envoy: %s: %v\n", bin, err)
		return nil
	}
	fmt.Fprintf(out, "envoy %s (%s)\n", v, bin)
	return nil
}

// moduleVersion is the module version Go stamped into the binary (a tag for
// `go install ...@vX`, else "(devel)"), with the VCS revision when known.
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev + modified
	}
	return v + " " + bi.GoVersion
}

// loadConfig reads --config, $CONFIG_FILE_PATH or the embedded default.
func loadConfig(path string) (*config.Config, error) {
	path = config.PathFromEnv(path)
	if path == "" {
		return config.Parse(examples.Default, examples.DefaultName, os.LookupEnv)
	}
	return config.Load(path)
}

func runCmd(args []string) error {
	fs := newFlagSet("run", "run [config.yaml | --config FILE] [flags]")
	var cfgPath string
	fs.StringVar(&cfgPath, "config", "", "LiteLLM config.yaml (default: $CONFIG_FILE_PATH, else the embedded example); a path argument works too")
	fs.StringVar(&cfgPath, "c", "", "same as --config")
	host := fs.String("host", envOr("HOST", "0.0.0.0"), "listen address ($HOST; 127.0.0.1 when serving the embedded example)")
	defPort, err := envPort(4000)
	if err != nil {
		return err
	}
	port := &portFlag{v: defPort}
	fs.Var(port, "port", "listen port, 0-65535 ($PORT)")
	envoyBin := fs.String("envoy", "", "Envoy binary (default: $ENVOY_BIN, envoy on PATH, .venv)")
	logLevel := fs.String("envoy-log-level", "warn", "Envoy log level (trace, debug, info, warn, error). "+
		"WARNING: at debug and trace Envoy logs every request's headers, the client's key and the provider credentials the gateway sets included")
	adminAddr := fs.String("admin-address", "", "expose Envoy's admin interface (stats, config dump; no authentication) on HOST:PORT; "+
		"default: a Unix socket (0600) in the gateway's private temp dir")
	defWorkers, _ := strconv.Atoi(os.Getenv("NUM_WORKERS"))
	concurrency := fs.Int("envoy-concurrency", defWorkers, "Envoy worker threads (0: one per core; $NUM_WORKERS)")
	fs.IntVar(concurrency, "num_workers", defWorkers, "same as --envoy-concurrency (LiteLLM's flag: here Envoy worker threads)")
	metricsAddr := fs.String("metrics-address", "", "serve Prometheus /metrics (LiteLLM's metric names; no authentication) on HOST:PORT for scrapers, "+
		"e.g. 127.0.0.1:9090; default: --host and $PROMETHEUS_METRICS_PORT when set (as LiteLLM), else off (the gateway port serves /metrics when litellm_settings.callbacks names prometheus)")
	accessLog := fs.Bool("access-log", true, "write Envoy's access log to stdout")
	jsonLogs := fs.Bool("json-logs", false, "JSON logs (also litellm_settings.json_logs, $JSON_LOGS=true)")
	drainTimeout := fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM, how long requests and streams in flight may finish "+
		"(readiness fails and the listener closes at once); 0: stop at once")
	noBindCheck := fs.Bool("no-bind-check", false, "do not try the port before starting Envoy "+
		"(Envoy binds it itself; a busy port then still ends the run, with exit 1, when Envoy rejects the listener)")
	reqFilter := fs.String("request-filter", envOr("LLMGATE_REQUEST_FILTER", gateway.RequestFilterAuto), "the request filter: "+
		"auto, the default (llmgate's Go dynamic module inside Envoy serves the common request and hands the rest to ext_proc, when its file is found and Envoy confirms its ABI; else ext_proc, with a warning), "+
		"module (the same, and no start without the module), or extproc (the gateway's ext_proc filter for every request); $LLMGATE_REQUEST_FILTER")
	dynModule := fs.String("dynamic-module", "", "the request filter module's file (default: $LLMGATE_DYNAMIC_MODULE, else libllmgate.so next to the llmgate binary, else ../lib/llmgate/libllmgate.so from the binary's directory)")
	dataDir := fs.String("data-dir", "", "directory of the embedded key store and the spend write-ahead file (default: $LLMGATE_DATA_DIR, else ~/.llmgate)")
	if _, err := parseArgs(fs, args, &cfgPath); err != nil {
		return err
	}
	if *drainTimeout < 0 || *drainTimeout > 24*time.Hour {
		return usageError{fmt.Errorf("run: --drain-timeout must be from 0 to 24h, got %s", *drainTimeout)}
	}
	if *concurrency < 0 {
		return usageError{fmt.Errorf("run: --num_workers/--envoy-concurrency must be 0 or more, got %d", *concurrency)}
	}

	path := config.PathFromEnv(cfgPath)
	if path == "" && !isSet(fs, "host") && os.Getenv("HOST") == "" {
		// The embedded example answers with mock responses and no key:
		// never open it to the network unless asked to.
		*host = "127.0.0.1"
	}
	if *metricsAddr == "" {
		// LiteLLM's dedicated metrics port binds to the proxy's --host.
		if p := os.Getenv("PROMETHEUS_METRICS_PORT"); p != "" {
			*metricsAddr = net.JoinHostPort(*host, p)
		}
	}
	// litellm_settings.json_logs and the log level (config.Config.LogLevel)
	// shape the log from the start; a config error is reported by
	// gateway.Run below.
	opts := &slog.HandlerOptions{}
	if cfg, err := loadConfig(path); err == nil {
		*jsonLogs = *jsonLogs || cfg.LiteLLM.JSONLogs
		opts.Level = cfg.LogLevel
	}
	var log *slog.Logger
	*jsonLogs = *jsonLogs || os.Getenv("JSON_LOGS") == "true"
	if *jsonLogs {
		log = slog.New(slog.NewJSONHandler(os.Stderr, opts))
	} else {
		log = slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return gateway.Run(ctx, gateway.Options{
		ConfigPath:        path,
		DefaultConfig:     examples.Default,
		DefaultConfigName: examples.DefaultName,
		Host:              *host,
		Port:              port.v,
		EnvoyBinary:       *envoyBin,
		EnvoyLogLevel:     *logLevel,
		EnvoyConcurrency:  *concurrency,
		AccessLog:         *accessLog,
		JSONLogs:          *jsonLogs,
		AdminAddress:      *adminAddr,
		NoBindCheck:       *noBindCheck,
		DrainTimeout:      *drainTimeout,
		MetricsAddress:    *metricsAddr,
		DataDir:           *dataDir,
		RequestFilter:     *reqFilter,
		DynamicModule:     *dynModule,
		Log:               log,
	})
}

func validateCmd(args []string, out io.Writer) error {
	fs := newFlagSet("validate", "validate [config.yaml | --config FILE] [--no-env]")
	cfgPath := new(string)
	fs.StringVar(cfgPath, "config", "", "LiteLLM config.yaml (default: $CONFIG_FILE_PATH, else the embedded example); a path argument works too")
	fs.StringVar(cfgPath, "c", "", "same as --config")
	noEnv := fs.Bool("no-env", false, "an os.environ/ reference to an unset variable is a warning, not an error (check a config without its secrets)")
	if _, err := parseArgs(fs, args, cfgPath); err != nil {
		return err
	}
	var cfg *config.Config
	var err error
	if path := config.PathFromEnv(*cfgPath); *noEnv && path != "" {
		var data []byte
		if data, err = os.ReadFile(path); err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		cfg, err = config.ParseWithOptions(data, path, os.LookupEnv, config.Options{UnsetEnvWarns: true})
	} else {
		cfg, err = loadConfig(*cfgPath)
	}
	if err != nil {
		var le *config.LoadError
		if errors.As(err, &le) {
			for _, w := range le.Warnings {
				fmt.Fprintln(out, w.String())
			}
		}
		return err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(out, w.String())
	}
	built := cfg
	m := model.Compile(cfg)
	if *noEnv {
		// Deployments whose endpoint would come from an unset variable were
		// warned about; the Envoy resources are checked without them.
		c := *cfg
		c.Models = nil
		for _, d := range m.Deployments {
			if d.Info.NeedsAPIBase && d.APIBase == "" && d.MockResponse == nil {
				continue
			}
			c.Models = append(c.Models, *d.Config)
		}
		built = &c
	}
	res, err := xds.Build(built, xds.Options{ExtProcSocket: "/tmp/llmgate-validate.sock"})
	if err != nil {
		return err
	}
	if err := res.Validate(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: ok: %d deployment(s), %d model group(s), %d warning(s)\n", cfg.File, len(cfg.Models), len(m.Groups), len(cfg.Warnings))
	return nil
}

func renderCmd(args []string, out io.Writer) error {
	fs := newFlagSet("render", "render [config.yaml | --config FILE] [--mode static|fragments|merge|xds] [flags]")
	cfgPath := new(string)
	fs.StringVar(cfgPath, "config", "", "LiteLLM config.yaml (default: $CONFIG_FILE_PATH, else the embedded example); a path argument works too")
	fs.StringVar(cfgPath, "c", "", "same as --config")
	defPort, err := envPort(4000)
	if err != nil {
		return err
	}
	port := &portFlag{v: defPort}
	fs.Var(port, "port", "listen port, 0-65535 ($PORT)")
	extproc := fs.String("extproc-address", "127.0.0.1:50051", "address of `llmgate extproc` as Envoy should reach it (several replicas: comma-separated)")
	mode := fs.String("mode", "static", "static: a complete Envoy bootstrap (envoy -c); "+
		"fragments: the pieces to merge into a listener you already run; "+
		"merge: --into FILE with the fragments merged in; "+
		"xds: the resources as `llmgate controlplane` serves them over ADS (not for static_resources)")
	into := fs.String("into", "", "merge: your Envoy bootstrap (YAML or JSON)")
	listener := fs.String("listener", "", "merge: the listener to extend (default: the only HTTP listener)")
	vhosts := fs.String("virtual-hosts", "", "merge: comma-separated virtual hosts that get the LLM routes (default: all of the listener's)")
	paths := fs.String("paths", strings.Join(byo.DefaultPaths, ","), "fragments, merge: comma-separated path prefixes (whole segments) that go to llmgate on a shared listener")
	admin := &portFlag{v: 9901}
	fs.Var(admin, "admin-port", "static: Envoy's admin port on 127.0.0.1 (0: no admin interface)")
	target := fs.String("target", "envoy", "envoy: for an Envoy you configure (--mode); istio: an EnvoyFilter for an Istio gateway; "+
		"envoy-gateway: an EnvoyPatchPolicy for an Envoy Gateway Gateway (both imply --no-priority-group unless it is set: their Envoys are older than 1.40)")
	meshNS := fs.String("namespace", "", "istio, envoy-gateway: the namespace of the generated resource (istio-system / default)")
	selector := fs.String("selector", "istio=ingressgateway", "istio: the gateway pods' labels (k=v,k=v)")
	gwPort := &portFlag{}
	fs.Var(gwPort, "gateway-port", "istio: patch only this gateway port (0: every port)")
	vhost := fs.String("istio-vhost", "", "istio: the virtual host (host:port) that gets llmgate's routes (default: every one)")
	egGateway := fs.String("gateway", "eg", "envoy-gateway: the Gateway's name")
	egListener := fs.String("gateway-listener", "http", "envoy-gateway: the Gateway listener (plain HTTP) that gets llmgate")
	noPG := fs.Bool("no-priority-group", false, "for Envoys older than 1.40: each model group routes by weight to its own deployments, retries stay on the deployment picked (no per-request plan, no fallback groups in the plan; see README)")
	if _, err := parseArgs(fs, args, cfgPath); err != nil {
		return err
	}
	switch *mode {
	case "static", "fragments", "merge", "xds":
	default:
		return usageError{fmt.Errorf("render: --mode must be static, fragments, merge or xds, got %q", *mode)}
	}
	switch *target {
	case "envoy":
	case "istio", "envoy-gateway":
		if !isSet(fs, "no-priority-group") {
			*noPG = true
		}
		if isSet(fs, "mode") {
			return usageError{fmt.Errorf("render: --mode goes with --target envoy")}
		}
		*mode = "fragments"
	default:
		return usageError{fmt.Errorf("render: --target must be envoy, istio or envoy-gateway, got %q", *target)}
	}
	if (*mode == "merge") != (*into != "") {
		return usageError{fmt.Errorf("render: --into goes with --mode merge")}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	res, err := xds.Build(cfg, xds.Options{Port: port.v, ExtProcAddress: *extproc, AccessLog: true, NoPriorityGroup: *noPG})
	if err != nil {
		return err
	}
	var b []byte
	switch *mode {
	case "xds":
		b, err = res.YAML()
	case "static":
		bs, err2 := byo.Static(res, admin.v)
		if err2 != nil {
			return err2
		}
		b, err = byo.YAML(bs)
	case "fragments", "merge":
		fr, err2 := byo.BuildFragments(res, splitList(*paths))
		if err2 != nil {
			return err2
		}
		switch {
		case *target == "istio":
			sel, err2 := parseLabels(*selector)
			if err2 != nil {
				return err2
			}
			b, err = byo.Istio(fr, byo.IstioOptions{Namespace: *meshNS, Selector: sel, Port: gwPort.v, VirtualHost: *vhost})
		case *target == "envoy-gateway":
			b, err = byo.EnvoyGateway(fr, byo.EnvoyGatewayOptions{Namespace: *meshNS, Gateway: *egGateway, Listener: *egListener})
		case *mode == "fragments":
			b, err = byo.FragmentsYAML(fr)
		default:
			orig, err2 := os.ReadFile(*into)
			if err2 != nil {
				return err2
			}
			b, err = byo.Merge(orig, fr, byo.MergeOptions{Listener: *listener, VirtualHosts: splitList(*vhosts)})
		}
	}
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

// parseLabels reads k=v,k=v.
func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range splitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("render: --selector wants k=v,k=v, got %q", s)}
		}
		out[k] = v
	}
	return out, nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// splitCmd runs one piece of the gateway on its own.
func splitCmd(which string, args []string) error {
	fs := newFlagSet(which, which+" [config.yaml | --config FILE] [flags]")
	cfgPath := new(string)
	fs.StringVar(cfgPath, "config", "", "LiteLLM config.yaml (default: $CONFIG_FILE_PATH, else the embedded example); a path argument works too")
	fs.StringVar(cfgPath, "c", "", "same as --config")
	listen := fs.String("listen", map[string]string{"controlplane": "127.0.0.1:18000", "extproc": "127.0.0.1:50051"}[which], "gRPC listen address")
	extprocAddr := fs.String("extproc-address", "", "controlplane: where Envoy reaches `llmgate extproc` (HOST:PORT; several replicas: comma-separated)")
	xdsAddr := fs.String("xds-address", "", "extproc: take the config from this control plane (`llmgate controlplane --listen`) instead of --config")
	host := fs.String("host", envOr("HOST", "0.0.0.0"), "controlplane: Envoy's listen address ($HOST)")
	defPort, err := envPort(4000)
	if err != nil {
		return err
	}
	port := &portFlag{v: defPort}
	fs.Var(port, "port", "controlplane: Envoy's listen port, 0-65535 ($PORT)")
	drainTimeout := fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM, how long gRPC streams in flight may finish")
	metricsAddr := fs.String("metrics-address", "", "extproc: serve Prometheus /metrics (no authentication) on HOST:PORT; default: off")
	drainDelay := fs.Duration("drain-delay", 2*time.Second, "extproc: on SIGTERM, how long grpc.health.v1 reports NOT_SERVING while new streams are still taken (Envoy checks every second)")
	var listenTLS, xdsTLS gateway.TLSFiles
	var extTLS xds.TLSFiles
	fs.StringVar(&listenTLS.Cert, "tls-cert", "", "serve --listen over TLS with this PEM certificate (with --tls-key)")
	fs.StringVar(&listenTLS.Key, "tls-key", "", "the PEM key of --tls-cert")
	fs.StringVar(&listenTLS.ClientCA, "tls-client-ca", "", "mTLS: require a client certificate signed by this PEM CA")
	if which == "extproc" {
		fs.StringVar(&xdsTLS.CA, "xds-tls-ca", "", "dial --xds-address over TLS, verifying it with this PEM CA")
		fs.StringVar(&xdsTLS.Cert, "xds-tls-cert", "", "mTLS: the client certificate to present to --xds-address (with --xds-tls-key)")
		fs.StringVar(&xdsTLS.Key, "xds-tls-key", "", "the PEM key of --xds-tls-cert")
		fs.StringVar(&xdsTLS.ServerName, "xds-tls-server-name", "", "the name --xds-address's certificate must carry (default: its host)")
	} else {
		fs.StringVar(&extTLS.CA, "extproc-tls-ca", "", "Envoy dials --extproc-address over TLS, verifying it with this PEM CA (a path on Envoy's host)")
		fs.StringVar(&extTLS.Cert, "extproc-tls-cert", "", "mTLS: Envoy's client certificate for ext_proc (a path on Envoy's host; with --extproc-tls-key)")
		fs.StringVar(&extTLS.Key, "extproc-tls-key", "", "the PEM key of --extproc-tls-cert")
		fs.StringVar(&extTLS.ServerName, "extproc-tls-server-name", "", "SNI and the DNS name ext_proc's certificate must carry")
	}
	noPG := fs.Bool("no-priority-group", false, "controlplane: routes for Envoys older than 1.40 (degraded mode: weighted deployments, retries on the same deployment, no fallback groups; see README)")
	dataDir := fs.String("data-dir", "", "extproc: directory of the embedded key store and the spend write-ahead file (default: $LLMGATE_DATA_DIR, else ~/.llmgate)")
	if _, err := parseArgs(fs, args, cfgPath); err != nil {
		return err
	}
	if *drainDelay < 0 || *drainDelay > time.Hour {
		return usageError{fmt.Errorf("%s: --drain-delay must be from 0 to 1h, got %s", which, *drainDelay)}
	}
	if *drainTimeout < 0 || *drainTimeout > 24*time.Hour {
		return usageError{fmt.Errorf("%s: --drain-timeout must be from 0 to 24h, got %s", which, *drainTimeout)}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := gateway.Options{
		ConfigPath: config.PathFromEnv(*cfgPath), DefaultConfig: examples.Default, DefaultConfigName: examples.DefaultName,
		Host: *host, Port: port.v, ExtProcAddress: *extprocAddr, XDSAddress: *xdsAddr, AccessLog: true, Log: log,
		DrainTimeout: *drainTimeout, MetricsAddress: *metricsAddr, DataDir: *dataDir,
		ListenTLS: listenTLS, XDSClientTLS: xdsTLS, ExtProcTLS: extTLS, DrainDelay: *drainDelay,
		NoPriorityGroup: *noPG,
	}
	if err := checkTLSPairs(map[string][2]string{
		"--tls-cert": {listenTLS.Cert, listenTLS.Key}, "--xds-tls-cert": {xdsTLS.Cert, xdsTLS.Key}, "--extproc-tls-cert": {extTLS.Cert, extTLS.Key},
	}); err != nil {
		return err
	}
	if extTLS.Cert != "" && extTLS.CA == "" {
		return usageError{fmt.Errorf("controlplane: --extproc-tls-cert needs --extproc-tls-ca (Envoy must verify ext_proc)")}
	}
	if which == "controlplane" {
		return gateway.RunControlPlane(ctx, o, *listen)
	}
	return gateway.RunExtProc(ctx, o, *listen)
}

// bootstrapCmd prints an Envoy bootstrap that reads the control plane over ADS.
func bootstrapCmd(args []string, out io.Writer) error {
	fs := newFlagSet("bootstrap", "bootstrap --xds-address HOST:PORT [--admin-port N] [--into envoy.yaml]")
	addr := fs.String("xds-address", "127.0.0.1:18000", "the control plane (`llmgate controlplane --listen`)")
	into := fs.String("into", "", "your Envoy bootstrap (YAML or JSON): print it with ADS from the control plane added "+
		"(your listeners and clusters stay; llmgate's listener, routes and clusters come over ADS and follow config changes without a restart)")
	admin := &portFlag{v: 9901}
	fs.Var(admin, "admin-port", "Envoy admin port, 0-65535 (loopback; no authentication: anyone on the host can raise the log level or stop Envoy)")
	var xdsTLS xds.TLSFiles
	fs.StringVar(&xdsTLS.CA, "xds-tls-ca", "", "Envoy dials the control plane over TLS, verifying it with this PEM CA (a path on Envoy's host)")
	fs.StringVar(&xdsTLS.Cert, "xds-tls-cert", "", "mTLS: Envoy's client certificate for the control plane (with --xds-tls-key)")
	fs.StringVar(&xdsTLS.Key, "xds-tls-key", "", "the PEM key of --xds-tls-cert")
	fs.StringVar(&xdsTLS.ServerName, "xds-tls-server-name", "", "SNI and the DNS name the control plane's certificate must carry")
	_ = fs.Parse(args)
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("bootstrap: unexpected arguments %q", fs.Args())}
	}
	if err := checkTLSPairs(map[string][2]string{"--xds-tls-cert": {xdsTLS.Cert, xdsTLS.Key}}); err != nil {
		return err
	}
	if xdsTLS.Cert != "" && xdsTLS.CA == "" {
		return usageError{fmt.Errorf("bootstrap: --xds-tls-cert needs --xds-tls-ca (Envoy must verify the control plane)")}
	}
	host, portStr, err := net.SplitHostPort(*addr)
	if err != nil {
		return err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return fmt.Errorf("xds-address port: %w", err)
	}
	bo := envoy.BootstrapOptions{XDSHost: host, XDSPort: uint32(port), AdminPort: admin.v, XDSTLS: xdsTLS}
	if *into != "" {
		ads, err := envoy.Bootstrap(bo)
		if err != nil {
			return err
		}
		orig, err := os.ReadFile(*into)
		if err != nil {
			return err
		}
		b, err := byo.MergeADS(orig, ads)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	b, err := envoy.BootstrapJSON(bo)
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}
