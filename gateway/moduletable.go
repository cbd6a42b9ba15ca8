package gateway

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
)

// The module's set-up and its table server, shared by `llmgate run` and the
// bench's scale run (bench/scalemodule.go), so both load the module and feed
// it its config the same way (docs/architecture.md D53, D62).

// LinkModule makes the module lib loadable by an Envoy started with env: a
// link named as Envoy looks for it in dir/modules.
func LinkModule(lib, dir string) (env []string, err error) {
	abs, err := filepath.Abs(lib)
	if err != nil {
		return nil, err
	}
	mods := filepath.Join(dir, "modules")
	if err := os.MkdirAll(mods, 0o700); err != nil {
		return nil, err
	}
	if err := os.Symlink(abs, filepath.Join(mods, filter.LibraryFile)); err != nil {
		return nil, err
	}
	return []string{"ENVOY_DYNAMIC_MODULES_SEARCH_PATH=" + mods}, nil
}

// ModuleTableServer serves the module its tables over ADS on a Unix socket:
// the config table in parts (extproc.ModuleTableEncoder; only the parts
// whose bytes changed are pushed) and the key table (modulekeys.go), and
// follows the module's acknowledgements of both.
type ModuleTableServer struct {
	cache   *cachev3.LinearCache
	srv     *grpc.Server
	keyAcks *moduleAcks
	acks    *moduleAcks

	pubMu sync.Mutex // one push at a time, in order
	enc   extproc.ModuleTableEncoder
	last  [][]byte // the parts as last pushed, without the common part's gen
}

// ServeModuleTables serves the module's tables on the Unix socket sock.
func ServeModuleTables(ctx context.Context, sock string) (*ModuleTableServer, error) {
	l, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	m := &ModuleTableServer{cache: cachev3.NewLinearCache(contract.ModuleTableType), srv: grpc.NewServer(grpc.MaxSendMsgSize(256 << 20)),
		keyAcks: newKeyAcks(), acks: newTableAcks()}
	cb := serverv3.CallbackFuncs{
		StreamRequestFunc: func(id int64, r *discoveryv3.DiscoveryRequest) error {
			m.acks.request(id, r)
			m.keyAcks.request(id, r)
			return nil
		},
		StreamResponseFunc: func(_ context.Context, _ int64, r *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
			m.acks.response(r, resp)
			m.keyAcks.response(r, resp)
		},
		StreamClosedFunc: func(id int64, _ *corev3.Node) {
			m.acks.closed(id)
			m.keyAcks.closed(id)
		},
	}
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(m.srv, serverv3.NewServer(ctx, m.cache, cb))
	go func() { _ = m.srv.Serve(l) }()
	return m, nil
}

// Stop stops serving.
func (m *ModuleTableServer) Stop() { m.srv.Stop() }

// PublishConfig pushes a config and the module's settings (the parts that
// changed) and returns the push's generation (WaitConfig).
func (m *ModuleTableServer) PublishConfig(cfg *config.Config, version string, ticketKey []byte, mc extproc.ModuleConfig) (uint64, error) {
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	parts, gen, err := m.enc.Encode(cfg, version, ticketKey, mc)
	if err != nil {
		return 0, fmt.Errorf("module table: %w", err)
	}
	if m.last == nil {
		m.last = make([][]byte, len(parts))
	}
	changed := map[string]types.Resource{}
	for i, p := range parts {
		// Every push carries the common part (its gen is new): the
		// acknowledgement of a response names the push it completes.
		if i == 0 || string(p) != string(m.last[i]) {
			changed[contract.ModuleTablePart(i)] = wrapperspb.Bytes(p)
			m.last[i] = p
		}
	}
	m.acks.pushed(gen)
	if err := m.cache.UpdateResources(changed, nil); err != nil {
		return 0, fmt.Errorf("module table: %w", err)
	}
	return gen, nil
}

// WaitConfig reports once the module applied the config table of push gen
// or a later one (true), or when no module is subscribed or ctx ends
// (false).
func (m *ModuleTableServer) WaitConfig(ctx context.Context, gen uint64) bool {
	return m.acks.wait(ctx, gen)
}

// Applied reports whether the module applied the config table of push gen
// or a later one (without waiting).
func (m *ModuleTableServer) Applied(gen uint64) bool {
	return m.acks.hasApplied(gen)
}

func isConfigTableRequest(r *discoveryv3.DiscoveryRequest) bool {
	return len(r.GetResourceNames()) > 0 && r.GetResourceNames()[0] == contract.ModuleTableName
}
