package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/envoy"
	"github.com/llmgate/llmgate/examples"
	"github.com/llmgate/llmgate/internal/gateway"
	"github.com/llmgate/llmgate/xds"
)

const usage = `llmgate runs a LiteLLM proxy config.yaml on Envoy.

Usage:
  llmgate run      [--config FILE] [--host 0.0.0.0] [--port 4000]
  llmgate validate [--config FILE] [--no-env]
  llmgate render   [--config FILE] [--port 4000] [--extproc-address HOST:PORT]

Split into pieces, for fleets:
  llmgate controlplane [--config FILE] --listen 0.0.0.0:18000 --extproc-address HOST:PORT [--port 4000]
  llmgate extproc      [--config FILE | --xds-address HOST:PORT] --listen 0.0.0.0:50051
  llmgate bootstrap    --xds-address HOST:PORT     an Envoy bootstrap pointing at the control plane

The config comes from --config, else $CONFIG_FILE_PATH, else the embedded
offline default (examples/default.yaml).
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "validate":
		err = validateCmd(os.Args[2:], os.Stdout)
	case "render":
		err = renderCmd(os.Args[2:], os.Stdout)
	case "controlplane":
		err = splitCmd("controlplane", os.Args[2:])
	case "extproc":
		err = splitCmd("extproc", os.Args[2:])
	case "bootstrap":
		err = bootstrapCmd(os.Args[2:], os.Stdout)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "llmgate: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		var le *config.LoadError
		if errors.As(err, &le) {
			for _, d := range le.Diagnostics {
				fmt.Fprintln(os.Stderr, d.String())
			}
			fmt.Fprintf(os.Stderr, "llmgate: config has %d error(s)\n", len(le.Diagnostics))
		} else {
			fmt.Fprintln(os.Stderr, "llmgate:", err)
		}
		os.Exit(1)
	}
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
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	cfgPath := fs.String("config", "", "LiteLLM config.yaml (default: $CONFIG_FILE_PATH, else the embedded example)")
	host := fs.String("host", "0.0.0.0", "listen address")
	port := fs.Uint("port", 4000, "listen port")
	envoyBin := fs.String("envoy", "", "Envoy binary (default: $ENVOY_BIN, envoy on PATH, .venv)")
	logLevel := fs.String("envoy-log-level", "warn", "Envoy log level (trace, debug, info, warn, error). "+
		"WARNING: at debug and trace Envoy logs every request's headers, the client's key and the provider credentials the gateway sets included")
	adminAddr := fs.String("admin-address", "", "expose Envoy's admin interface (stats, config dump; no authentication) on HOST:PORT; "+
		"default: a Unix socket (0600) in the gateway's private temp dir")
	concurrency := fs.Int("envoy-concurrency", 0, "Envoy worker threads (0: one per core)")
	accessLog := fs.Bool("access-log", true, "write Envoy's access log to stdout")
	jsonLogs := fs.Bool("json-logs", false, "JSON logs (also litellm_settings.json_logs)")
	_ = fs.Parse(args)

	path := config.PathFromEnv(*cfgPath)
	// litellm_settings.json_logs and set_verbose shape the log from the start;
	// a config error is reported by gateway.Run below.
	opts := &slog.HandlerOptions{}
	if cfg, err := loadConfig(path); err == nil {
		*jsonLogs = *jsonLogs || cfg.LiteLLM.JSONLogs
		if cfg.LiteLLM.SetVerbose {
			opts.Level = slog.LevelDebug
		}
	}
	var log *slog.Logger
	if *jsonLogs || os.Getenv("JSON_LOGS") == "true" {
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
		Port:              uint32(*port),
		EnvoyBinary:       *envoyBin,
		EnvoyLogLevel:     *logLevel,
		EnvoyConcurrency:  *concurrency,
		AccessLog:         *accessLog,
		AdminAddress:      *adminAddr,
		Log:               log,
	})
}

func validateCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ExitOnError)
	cfgPath := fs.String("config", "", "LiteLLM config.yaml")
	noEnv := fs.Bool("no-env", false, "an os.environ/ reference to an unset variable is a warning, not an error (check a config without its secrets)")
	_ = fs.Parse(args)
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
	if *noEnv {
		// Deployments whose endpoint would come from an unset variable were
		// warned about; the Envoy resources are checked without them.
		c := *cfg
		c.Models = nil
		for _, d := range cfg.Models {
			if info, ok := config.LookupProvider(d.Provider); ok && info.NeedsAPIBase && d.Params.APIBase == "" && d.Params.MockResponse == nil {
				continue
			}
			c.Models = append(c.Models, d)
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
	fmt.Fprintf(out, "%s: ok: %d deployment(s), %d model group(s), %d warning(s)\n", cfg.File, len(cfg.Models), len(xds.Groups(cfg)), len(cfg.Warnings))
	return nil
}

func renderCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ExitOnError)
	cfgPath := fs.String("config", "", "LiteLLM config.yaml")
	port := fs.Uint("port", 4000, "listen port")
	extproc := fs.String("extproc-address", "127.0.0.1:50051", "address of `llmgate extproc` as Envoy should reach it")
	_ = fs.Parse(args)
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	res, err := xds.Build(cfg, xds.Options{Port: uint32(*port), ExtProcAddress: *extproc, AccessLog: true})
	if err != nil {
		return err
	}
	b, err := res.YAML()
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

// splitCmd runs one piece of the gateway on its own.
func splitCmd(which string, args []string) error {
	fs := flag.NewFlagSet(which, flag.ExitOnError)
	cfgPath := fs.String("config", "", "LiteLLM config.yaml")
	listen := fs.String("listen", map[string]string{"controlplane": "127.0.0.1:18000", "extproc": "127.0.0.1:50051"}[which], "gRPC listen address")
	extprocAddr := fs.String("extproc-address", "", "controlplane: where Envoy reaches `llmgate extproc`")
	xdsAddr := fs.String("xds-address", "", "extproc: take the config from this control plane (`llmgate controlplane --listen`) instead of --config")
	host := fs.String("host", "0.0.0.0", "controlplane: Envoy's listen address")
	port := fs.Uint("port", 4000, "controlplane: Envoy's listen port")
	_ = fs.Parse(args)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := gateway.Options{
		ConfigPath: config.PathFromEnv(*cfgPath), DefaultConfig: examples.Default, DefaultConfigName: examples.DefaultName,
		Host: *host, Port: uint32(*port), ExtProcAddress: *extprocAddr, XDSAddress: *xdsAddr, AccessLog: true, Log: log,
	}
	if which == "controlplane" {
		return gateway.RunControlPlane(ctx, o, *listen)
	}
	return gateway.RunExtProc(ctx, o, *listen)
}

// bootstrapCmd prints an Envoy bootstrap that reads the control plane over ADS.
func bootstrapCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bootstrap", flag.ExitOnError)
	addr := fs.String("xds-address", "127.0.0.1:18000", "the control plane (`llmgate controlplane --listen`)")
	admin := fs.Uint("admin-port", 9901, "Envoy admin port (loopback; no authentication: anyone on the host can raise the log level or stop Envoy)")
	_ = fs.Parse(args)
	host, portStr, err := net.SplitHostPort(*addr)
	if err != nil {
		return err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return fmt.Errorf("xds-address port: %w", err)
	}
	b, err := envoy.BootstrapJSON(envoy.BootstrapOptions{XDSHost: host, XDSPort: uint32(port), AdminPort: uint32(*admin)})
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}
