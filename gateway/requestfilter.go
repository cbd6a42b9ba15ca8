package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/envoy"
)

// Which request filter `llmgate run` runs (docs/architecture.md D56).
//
// The default (RequestFilterAuto, also an empty Options.RequestFilter) is
// llmgate's dynamic module in Envoy (D53) whenever it can run: its file is
// found (moduleCandidates) and Envoy confirms the module's ABI version.
// Otherwise the gateway runs the ext_proc request filter alone and says so
// in one warning line. An explicit RequestFilterModule refuses to start
// instead; RequestFilterExtProc never loads the module.

// RequestFilterAuto is the default: the module when it can run, else ext_proc.
const RequestFilterAuto = "auto"

// moduleNotConfirmed is a run that ended because Envoy did not run the
// module: it refused to load it, said its ABI version is not the module's,
// did not confirm it, or exited before confirming it. With the default
// request filter the gateway runs again without the module.
type moduleNotConfirmed struct{ err error }

func (e *moduleNotConfirmed) Error() string { return e.err.Error() }
func (e *moduleNotConfirmed) Unwrap() error { return e.err }

// moduleCandidates are the places the module's file is looked for, in
// order: --dynamic-module, else $LLMGATE_DYNAMIC_MODULE (either one alone
// when set), else libllmgate.so next to the llmgate binary, else
// ../lib/llmgate/libllmgate.so from the binary's directory (a packaged
// install: /usr/local/bin/llmgate, /usr/local/lib/llmgate/libllmgate.so).
func moduleCandidates(flagPath string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return moduleCandidatesFor(flagPath, os.Getenv("LLMGATE_DYNAMIC_MODULE"), exe), nil
}

func moduleCandidatesFor(flagPath, envPath, exe string) []string {
	switch {
	case flagPath != "":
		return []string{flagPath}
	case envPath != "":
		return []string{envPath}
	}
	dir := filepath.Dir(exe)
	return []string{
		filepath.Join(dir, filter.LibraryFile),
		filepath.Join(dir, "..", "lib", "llmgate", filter.LibraryFile),
	}
}

// moduleLibrary finds the module's file (moduleCandidates' first regular
// file), as an absolute path.
func moduleLibrary(flagPath string) (string, error) {
	cands, err := moduleCandidates(flagPath)
	if err != nil {
		return "", err
	}
	tried := make([]string, 0, len(cands))
	for _, c := range cands {
		abs, err := filepath.Abs(c)
		if err != nil {
			return "", err
		}
		abs = filepath.Clean(abs)
		if st, err := os.Stat(abs); err == nil && st.Mode().IsRegular() {
			return abs, nil
		}
		tried = append(tried, abs)
	}
	return "", fmt.Errorf("the dynamic module %s is missing (build it with `make build`, or name it with --dynamic-module or $LLMGATE_DYNAMIC_MODULE)", strings.Join(tried, " or "))
}

// Run runs the gateway until ctx ends or Envoy dies, with the request
// filter Options.RequestFilter names (the default: the module when it can
// run, else ext_proc with one warning line).
func Run(ctx context.Context, o Options) error {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	switch o.RequestFilter {
	case "", RequestFilterAuto:
	case RequestFilterExtProc:
		return run(ctx, o)
	case RequestFilterModule:
		lib, err := moduleLibrary(o.DynamicModule)
		if err != nil {
			return fmt.Errorf("--request-filter=module: %w", err)
		}
		o.DynamicModule = lib
		return run(ctx, o)
	default:
		return fmt.Errorf("--request-filter must be %s, %s or %s, got %q", RequestFilterAuto, RequestFilterModule, RequestFilterExtProc, o.RequestFilter)
	}
	fallback := func(why string) error {
		why = strings.Join(strings.Fields(why), " ")
		o.Log.Warn("request filter: ext_proc only, llmgate's in-Envoy module is not used: " + why +
			" (--request-filter=module refuses to start without it; --request-filter=extproc chooses ext_proc without this warning)")
		o.RequestFilter = RequestFilterExtProc
		return run(ctx, o)
	}
	if o.NoPriorityGroup {
		// The degraded mode is for Envoys before 1.40: the module is built
		// for 1.40's ABI only.
		o.RequestFilter = RequestFilterExtProc
		return run(ctx, o)
	}
	lib, err := moduleLibrary(o.DynamicModule)
	if err != nil {
		return fallback(err.Error())
	}
	o.RequestFilter, o.DynamicModule = RequestFilterModule, lib
	err = run(ctx, o)
	var nc *moduleNotConfirmed
	if errors.As(err, &nc) && ctx.Err() == nil {
		o.again = true
		return fallback(lib + ": " + err.Error())
	}
	return err
}

// moduleVerdictAfterReady bounds the wait for Envoy's word on the module's
// ABI once its listener serves: Envoy loads the module while it builds the
// listener, so the word is in its log by then.
const moduleVerdictAfterReady = 5 * time.Second

// moduleVerdict waits for Envoy's word on the module's ABI (abiWatch) once
// the listener serves; false: not confirmed (the run ends), or the run
// ended meanwhile.
func (g *Gateway) moduleVerdict(ctx context.Context, proc *envoy.Process, abi *abiWatch) bool {
	select {
	case <-abi.verdict:
	case <-time.After(moduleVerdictAfterReady):
		abi.report(fmt.Errorf("envoy serves the listener but did not confirm the dynamic module's ABI version %s", ModuleABI))
	case <-ctx.Done():
		return false
	case <-proc.Done():
		return false
	}
	return abi.confirmed()
}

// moduleRejected: Envoy rejected the listener because it could not load the
// module (a file that is no shared library, a missing symbol).
func moduleRejected(abi *abiWatch, msg string) bool {
	return abi != nil && !abi.confirmed() && strings.Contains(strings.ToLower(msg), "dynamic module")
}
