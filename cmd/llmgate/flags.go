package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// envHelp lists the environment variables llmgate reads, as LiteLLM's proxy
// reads them. A flag wins over its variable.
const envHelp = `Environment (read as LiteLLM's proxy reads them; a flag wins over its variable):
  CONFIG_FILE_PATH      config.yaml when neither --config nor a path argument is given
  HOST                  listen address (default 0.0.0.0; 127.0.0.1 when serving the embedded example)
  PORT                  listen port (default 4000)
  NUM_WORKERS           Envoy worker threads (as --num_workers)
  LITELLM_MASTER_KEY    the master key when general_settings.master_key is not set
  REDIS_URL, REDIS_HOST, REDIS_PORT, REDIS_PASSWORD
                        the router's shared state (cooldowns, usage) when router_settings name no Redis
  DATABASE_URL          the database of virtual keys and spend when general_settings.database_url is not set
  LITELLM_ENVIRONMENT   serve only the deployments whose model_info.supported_environments include it
  JSON_LOGS             "true": JSON logs (as --json-logs)
  ENVOY_BIN             the Envoy binary (else envoy on PATH, else the .venv that make deps fills)
  LLMGATE_REQUEST_FILTER  auto, module or extproc (as --request-filter)
  LLMGATE_DYNAMIC_MODULE  the request filter module's file (as --dynamic-module)
`

// portFlag is a TCP port: 0-65535, anything else is a usage error.
type portFlag struct{ v uint32 }

func (p *portFlag) String() string {
	if p == nil {
		return "0"
	}
	return strconv.Itoa(int(p.v))
}

func (p *portFlag) Set(s string) error {
	n, err := parsePort(s)
	if err != nil {
		return err
	}
	p.v = n
	return nil
}

func parsePort(s string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil || n > 65535 {
		return 0, fmt.Errorf("a port is a number from 0 to 65535, got %q", s)
	}
	return uint32(n), nil
}

// envPort is $PORT when set (a usage error when it is not a port), else def.
func envPort(def uint32) (uint32, error) {
	s, ok := os.LookupEnv("PORT")
	if !ok || s == "" {
		return def, nil
	}
	n, err := parsePort(s)
	if err != nil {
		return 0, usageError{fmt.Errorf("$PORT: %w", err)}
	}
	return n, nil
}

// envOr is the variable's value when set and not empty, else def.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// usageError is a mistake on the command line: exit 2, as flag errors do.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// newFlagSet is a flag set whose help ends with the environment variables.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: llmgate %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\n"+envHelp)
	}
	return fs
}

// parseArgs parses flags and positional arguments in any order
// (`llmgate run config.yaml --port 4001` as well as the other way round) and
// returns the config path: a path argument or --config (they must agree).
// More than one path argument is a usage error.
func parseArgs(fs *flag.FlagSet, args []string, cfgFlag *string) (string, error) {
	var pos []string
	for {
		_ = fs.Parse(args) // ExitOnError: a bad flag has exited already
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	switch {
	case len(pos) > 1:
		return "", usageError{fmt.Errorf("%s: one config path at most, got %q", fs.Name(), pos)}
	case len(pos) == 1 && *cfgFlag != "" && *cfgFlag != pos[0]:
		return "", usageError{fmt.Errorf("%s: two config paths: --config %s and %s", fs.Name(), *cfgFlag, pos[0])}
	case len(pos) == 1:
		*cfgFlag = pos[0]
	}
	return *cfgFlag, nil
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// checkTLSPairs: a certificate flag and its key come together.
func checkTLSPairs(pairs map[string][2]string) error {
	for name, p := range pairs {
		if (p[0] == "") != (p[1] == "") {
			return usageError{fmt.Errorf("%s and its key (%s) go together", name, strings.Replace(name, "-cert", "-key", 1))}
		}
	}
	return nil
}
