package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/xds"
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
	sock, err := g.serveModuleTables(ctx)
	if err != nil {
		return nil, err
	}
	g.module = &filter.Config{Marker: hex.EncodeToString(secret[:]), TableSocket: sock}
	if g.o.ExtProcAddress == "" {
		// Outcomes from the module, to the access-log service beside ext_proc (D54).
		g.module.OutcomeSocket = filepath.Join(g.workDir, "extproc.sock")
	}
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

// moduleTables serves the module table (extproc.ModuleTable) to the
// module's goroutine in Envoy over ADS, on a Unix socket of its own in the
// private work dir.
type moduleTables struct {
	cache *cachev3.LinearCache
	srv   *grpc.Server

	mu      sync.Mutex
	cooling map[string]time.Time // the gateway store's cooldowns, as they start

	keyAcks *keyAcks // the key table's acknowledgements (modulekeys.go)
}

func (g *Gateway) serveModuleTables(ctx context.Context) (string, error) {
	sock := filepath.Join(g.workDir, "module.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		return "", err
	}
	mt := &moduleTables{cache: cachev3.NewLinearCache(contract.ModuleTableType), srv: grpc.NewServer(), cooling: map[string]time.Time{}, keyAcks: newKeyAcks()}
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(mt.srv, serverv3.NewServer(ctx, mt.cache, mt.keyAcks.callbacks()))
	go func() { _ = mt.srv.Serve(l) }()
	g.moduleTables = mt
	return sock, nil
}

// publishModule pushes the config and the module's settings to the module.
func (g *Gateway) publishModule(cfg *config.Config, version string) {
	mt := g.moduleTables
	if mt == nil || g.ext == nil {
		return
	}
	rt, err := xds.RoutingTable(cfg, version, g.ticketKey(cfg))
	if err != nil {
		g.log.Error("module table not published", "error", err.Error())
		return
	}
	b, err := proto.Marshal(rt)
	if err != nil {
		g.log.Error("module table not published", "error", err.Error())
		return
	}
	mc := extproc.ModuleConfig{OffPathOutcomes: g.ext.OffPathOutcomes, OutcomesActive: g.ext.Outcomes.ActiveBesides(keys.SpendSink)}
	mc.Upstream = g.ext.ModuleUpstream
	mc.Off = g.ext.ModuleOff()
	if _, ok := g.store.(*coolingStore); !ok {
		mc.Off = "the router's state is shared in Redis"
	}
	mt.mu.Lock()
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
	js, err := json.Marshal(extproc.ModuleTable{RoutingTable: b, Module: mc})
	if err == nil {
		err = mt.cache.UpdateResource(contract.ModuleTableName, wrapperspb.Bytes(js))
	}
	if err != nil {
		g.log.Error("module table not published", "error", err.Error())
	}
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
	g.mu.Lock()
	cfg, version := g.cfg, g.version
	g.mu.Unlock()
	if cfg != nil {
		g.publishModule(cfg, version)
	}
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
