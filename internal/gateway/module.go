package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/llmgate/llmgate/dynmod/filter"
)

// The in-Envoy request filter (docs/architecture.md D49): with
// --request-filter=module, `llmgate run` makes its Envoy load llmgate's Go
// dynamic module (bin/libllmgate.so, built by `make build`) and puts it in
// the listener before the ext_proc request filter.

// Request filter choices (Options.RequestFilter).
const (
	RequestFilterExtProc = "extproc"
	RequestFilterModule  = "module"
)

// ModuleABI is the dynamic-module ABI version the module is built for
// (dynmod/abi.go); Envoy must log that it matched.
const ModuleABI = "v0.2.0"

// moduleABIWait bounds the wait for Envoy's word on the module's ABI after
// Envoy started.
const moduleABIWait = 60 * time.Second

// moduleLibrary finds the module: --dynamic-module, else $LLMGATE_DYNAMIC_MODULE,
// else libllmgate.so next to the llmgate binary.
func moduleLibrary(path string) (string, error) {
	if path == "" {
		path = os.Getenv("LLMGATE_DYNAMIC_MODULE")
	}
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		path = filepath.Join(filepath.Dir(exe), filter.LibraryFile)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil || st.IsDir() {
		return "", fmt.Errorf("--request-filter=module: the dynamic module %s is missing (build it with `make build`, or name it with --dynamic-module)", abs)
	}
	return abs, nil
}

// moduleSetup prepares the module for Envoy: a link named as Envoy looks for
// it in the private work dir (the search path handed to Envoy), and the
// filter config with a fresh marker secret.
func (g *Gateway) moduleSetup() (env []string, err error) {
	lib, err := moduleLibrary(g.o.DynamicModule)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(g.workDir, "modules")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Symlink(lib, filepath.Join(dir, filter.LibraryFile)); err != nil {
		return nil, err
	}
	var secret [16]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, err
	}
	g.module = &filter.Config{Marker: hex.EncodeToString(secret[:])}
	g.log.Info("request filter: llmgate's dynamic module in Envoy, then ext_proc for what it hands on", "module", lib)
	return []string{"ENVOY_DYNAMIC_MODULES_SEARCH_PATH=" + dir}, nil
}

// abiWatch passes Envoy's log through and reads what Envoy says about the
// module's ABI version: "Dynamic module ABI version v0.2.0 matched." or
// "… is deprecated …" (Envoy loads a mismatched module with a warning only;
// llmgate refuses to run it: a wrong signature would crash Envoy or corrupt
// requests, not fail to load).
type abiWatch struct {
	w       io.Writer
	mu      sync.Mutex
	partial []byte
	once    sync.Once
	result  chan error // one value: nil when matched
}

func newABIWatch(w io.Writer) *abiWatch {
	return &abiWatch{w: w, result: make(chan error, 1)}
}

func (a *abiWatch) Write(p []byte) (int, error) {
	a.mu.Lock()
	a.partial = append(a.partial, p...)
	for {
		i := bytes.IndexByte(a.partial, '\n')
		if i < 0 {
			break
		}
		a.line(string(a.partial[:i]))
		a.partial = a.partial[i+1:]
	}
	if len(a.partial) > 64<<10 {
		a.partial = a.partial[:0]
	}
	a.mu.Unlock()
	return a.w.Write(p)
}

func (a *abiWatch) line(l string) {
	i := strings.Index(l, "Dynamic module ABI version ")
	if i < 0 {
		return
	}
	rest := l[i+len("Dynamic module ABI version "):]
	switch {
	case strings.HasPrefix(rest, ModuleABI+" matched"):
		a.report(nil)
	default:
		a.report(fmt.Errorf("envoy does not run the module's ABI version %s as is (%s): build the module against this Envoy's ABI or use --request-filter=extproc", ModuleABI, strings.TrimSpace(l[i:])))
	}
}

func (a *abiWatch) report(err error) {
	a.once.Do(func() { a.result <- err })
}

// wait returns nil once Envoy said the ABI matched, an error on a mismatch
// or when Envoy said nothing within moduleABIWait.
func (a *abiWatch) wait(done <-chan struct{}) error {
	select {
	case err := <-a.result:
		a.result <- err
		return err
	case <-done:
		return nil
	case <-time.After(moduleABIWait):
		return fmt.Errorf("envoy did not confirm the dynamic module's ABI version %s within %s", ModuleABI, moduleABIWait)
	}
}
