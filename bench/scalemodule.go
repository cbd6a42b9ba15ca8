package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"

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
	"github.com/llmgate/llmgate/xds"
)

// The scale run in module mode (`llmbench --scale-only … --scale-module`,
// docs/architecture.md D55): the Envoy loads llmgate's module, the
// resources are built as `llmgate run --request-filter=module` builds them
// (bare clusters, the router's shared upstream filters, no SDS secrets),
// and the module gets each config as its table over ADS, as from `llmgate
// run`: the module parses it inside Envoy, so its cost is in Envoy's CPU
// figure, and a push ends when Envoy ACKed the resources and the module the
// table.

// scaleModule serves the module table to the scale Envoy's module.
type scaleModule struct {
	cache   *cachev3.LinearCache
	srv     *grpc.Server
	acked   chan string // table versions the module ACKed
	updates int
}

// startScaleModule links the module where Envoy looks for it and serves its
// table; env is Envoy's extra environment, cfg the module's filter config.
func startScaleModule(ctx context.Context, dir, llmgateBin string) (m *scaleModule, env []string, cfg *filter.Config, err error) {
	lib := filepath.Join(filepath.Dir(llmgateBin), filter.LibraryFile)
	if _, err := os.Stat(lib); err != nil {
		return nil, nil, nil, fmt.Errorf("--scale-module: the module %s is missing (make build): %w", lib, err)
	}
	mods := filepath.Join(dir, "modules")
	if err := os.MkdirAll(mods, 0o700); err != nil {
		return nil, nil, nil, err
	}
	abs, err := filepath.Abs(lib)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := os.Symlink(abs, filepath.Join(mods, filter.LibraryFile)); err != nil {
		return nil, nil, nil, err
	}
	sock := filepath.Join(dir, "module.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		return nil, nil, nil, err
	}
	m = &scaleModule{cache: cachev3.NewLinearCache(contract.ModuleTableType), acked: make(chan string, 16)}
	cb := serverv3.CallbackFuncs{StreamRequestFunc: func(_ int64, r *discoveryv3.DiscoveryRequest) error {
		if r.GetResponseNonce() != "" && r.GetErrorDetail() == nil && slices.Contains(r.GetResourceNames(), contract.ModuleTableName) {
			select {
			case m.acked <- r.GetVersionInfo():
			default:
			}
		}
		return nil
	}}
	m.srv = grpc.NewServer(grpc.MaxSendMsgSize(256 << 20))
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(m.srv, serverv3.NewServer(ctx, m.cache, cb))
	go func() { _ = m.srv.Serve(l) }()
	return m, []string{"ENVOY_DYNAMIC_MODULES_SEARCH_PATH=" + mods}, &filter.Config{Marker: "llmbench-scale", TableSocket: sock}, nil
}

// publish pushes a config to the module (as the gateway does, with the
// upstream filter on) and returns the table version its ACK will carry.
func (m *scaleModule) publish(cfg *config.Config, version string) (string, error) {
	rt, err := xds.RoutingTable(cfg, version, make([]byte, xds.MinTicketKeyBytes))
	if err != nil {
		return "", err
	}
	b, err := proto.Marshal(rt)
	if err != nil {
		return "", err
	}
	js, err := json.Marshal(extproc.ModuleTable{RoutingTable: b, Module: extproc.ModuleConfig{OffPathOutcomes: true, Upstream: true}})
	if err != nil {
		return "", err
	}
	if err := m.cache.UpdateResource(contract.ModuleTableName, wrapperspb.Bytes(js)); err != nil {
		return "", err
	}
	m.updates++
	return strconv.Itoa(m.updates), nil
}

func (m *scaleModule) stop() { m.srv.Stop() }
