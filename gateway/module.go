package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/store"
)

// The in-Envoy request filter (docs/architecture.md D53): with
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

// moduleSetup prepares the module for Envoy: a link named as Envoy looks for
// it in the private work dir (the search path handed to Envoy), and the
// filter config with a fresh marker secret.
func (g *Gateway) moduleSetup(ctx context.Context) (env []string, err error) {
	lib, err := moduleLibrary(g.o.DynamicModule)
	if err != nil {
		return nil, fmt.Errorf("--request-filter=module: %w", err)
	}
	env, err = LinkModule(lib, g.workDir)
	if err != nil {
		return nil, err
	}
	env = append(env, moduleGODEBUG()) // D70
	var secret [16]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, err
	}
	sock, err := g.serveModuleTables(ctx)
	if err != nil {
		return nil, err
	}
	g.module = &filter.Config{Marker: hex.EncodeToString(secret[:]), TableSocket: sock}
	if g.o.ExtProcAddress == "" {
		// Outcomes from the module, to the access-log service beside ext_proc (D54).
		g.module.OutcomeSocket = filepath.Join(g.workDir, "extproc.sock")
		// A copy of each record until acknowledged, read at the next start (D63).
		g.module.OutcomeDir = moduleOutcomeDir(g.o)
	}
	g.log.Info("request filter: llmgate's dynamic module in Envoy, then ext_proc for what it hands on", "module", lib)
	return env, nil
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
	verdict chan struct{} // closed once err is set
	err     error         // nil when matched
}

func newABIWatch(w io.Writer) *abiWatch {
	return &abiWatch{w: w, verdict: make(chan struct{})}
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
	a.once.Do(func() { a.err = err; close(a.verdict) })
}

// confirmed: Envoy said the ABI matched.
func (a *abiWatch) confirmed() bool {
	select {
	case <-a.verdict:
		return a.err == nil
	default:
		return false
	}
}

// errEnvoyExited: Envoy ended before it said anything about the ABI.
var errEnvoyExited = errors.New("envoy exited")

// wait returns nil once Envoy said the ABI matched, an error on a mismatch
// (or when moduleVerdict gave up on a serving listener without the word),
// errEnvoyExited when done closes first. It sets no clock of its own: Envoy
// loads the module when it builds the listener, after every cluster of the
// config, which takes minutes for a large config on a busy host, and a slow
// start is no reason to give up the module.
func (a *abiWatch) wait(done <-chan struct{}) error {
	select {
	case <-a.verdict:
		return a.err
	case <-done:
		return errEnvoyExited
	}
}

// moduleTables serves the module its tables (ModuleTableServer) and keeps
// what a cooldown's push needs: the config in force and the cooldowns.
type moduleTables struct {
	*ModuleTableServer

	push    sync.Mutex // held over a push: read the config, publish it
	mu      sync.Mutex
	cooling map[string]time.Time // the gateway store's cooldowns, as they start
	cfg     *config.Config       // the config last published, and its version
	version string
	// ext is the ext_proc server once published; leases: the lease stream
	// is served (modulelimits.go, D67).
	ext    atomic.Pointer[extproc.Server]
	leases bool
}

func (g *Gateway) serveModuleTables(ctx context.Context) (string, error) {
	sock := filepath.Join(g.workDir, "module.sock")
	srv, err := ServeModuleTables(ctx, sock)
	if err != nil {
		return "", err
	}
	g.moduleTables = &moduleTables{ModuleTableServer: srv, cooling: map[string]time.Time{}}
	return sock, nil
}

// moduleTableWait bounds a reload's wait for the module to apply the new
// config before the ext_proc filter switches to it (D62).
const moduleTableWait = 2 * time.Second

// publishModule pushes the config and the module's settings to the module
// and returns the push's generation (0: nothing pushed).
func (g *Gateway) publishModule(cfg *config.Config, version string) uint64 {
	mt := g.moduleTables
	if mt == nil || g.ext == nil {
		return 0
	}
	mt.mu.Lock()
	mt.cfg, mt.version = cfg, version
	mt.mu.Unlock()
	return g.pushModule()
}

// waitModule waits (at most moduleTableWait) until the module applied the
// config table of push gen (0: nothing pushed, nothing to wait for).
func (g *Gateway) waitModule(ctx context.Context, gen uint64) {
	if gen == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, moduleTableWait)
	defer cancel()
	if !g.moduleTables.WaitConfig(ctx, gen) {
		g.log.Warn("the module has not applied the new config yet; the ext_proc filter switches to it anyway")
	}
}

// pushModule pushes the config last published with the cooldowns now in
// force. Pushes are serialized and each reads the config in force when it
// runs, so a cooldown's push never brings back a config a reload replaced.
func (g *Gateway) pushModule() uint64 {
	mt := g.moduleTables
	mt.push.Lock()
	defer mt.push.Unlock()
	mt.mu.Lock()
	cfg, version := mt.cfg, mt.version
	mc := extproc.ModuleConfig{OffPathOutcomes: g.ext.OffPathOutcomes, OutcomesActive: g.ext.Outcomes.ActiveBesides(keys.SpendSink)}
	mc.Upstream = g.ext.ModuleUpstream
	mc.SpendRecords = g.keys != nil
	mc.CompactRecords = true
	mc.Off = g.ext.ModuleOff()
	mc.Leases = mt.leases
	mt.ext.Store(g.ext)
	if g.pins != nil {
		mc.Repins = g.pins.Affinity() // session_affinity_repin_on_failover (D179)
	}
	now := time.Now()
	for id, until := range mt.cooling {
		if !until.After(now) {
			delete(mt.cooling, id)
			continue
		}
		if mc.Cooling == nil {
			mc.Cooling = map[string]int64{}
		}
		mc.Cooling[id] = until.UnixNano()
	}
	mt.mu.Unlock()
	if cfg == nil {
		return 0
	}
	gen, err := mt.PublishConfig(cfg, version, g.ticketKey(cfg), mc)
	if err != nil {
		g.log.Error("module table not published", "error", err.Error())
	}
	return gen
}

// cooled records a cooldown the gateway's store started and pushes it to the
// module, which then hands the deployment's groups to ext_proc until it ends.
func (g *Gateway) cooled(id string, until time.Time) {
	mt := g.moduleTables
	if mt == nil || until.IsZero() {
		return
	}
	mt.mu.Lock()
	prev := mt.cooling[id]
	if until.After(prev) {
		mt.cooling[id] = until
	}
	mt.mu.Unlock()
	if !until.After(prev) {
		return
	}
	g.pushModule()
}

// coolingStore is the gateway's in-memory store, telling the module when a
// deployment starts cooling down (a Record whose rule fired, a Cooldown).
type coolingStore struct {
	store.Store
	cooled func(id string, until time.Time)
}

func (c *coolingStore) Record(ctx context.Context, r store.Record) (store.RecordResult, error) {
	res, err := c.Store.Record(ctx, r)
	if err == nil && res.CooledDown {
		c.cooled(r.DeploymentID, res.CooldownUntil)
	}
	return res, err
}

func (c *coolingStore) Cooldown(ctx context.Context, id string, until time.Time) (time.Time, error) {
	t, err := c.Store.Cooldown(ctx, id, until)
	if err == nil {
		c.cooled(id, t)
	}
	return t, err
}
