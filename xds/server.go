package xds

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"

	"github.com/llmgate/llmgate/internal/contract"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// Server serves Resources over ADS to every Envoy that connects, whatever its
// node id: all gateway Envoys get the same config.
type Server struct {
	cache  cachev3.SnapshotCache
	tables *cachev3.LinearCache // the RoutingTable for ext_proc replicas
	mux    *cachev3.MuxCache
	log    *slog.Logger

	mu       sync.Mutex
	current  *cachev3.Snapshot
	acked    chan string // versions Envoy acknowledged
	rejected chan Rejection
}

// Rejection is a config Envoy refused (a NACK), for instance a listener whose
// port is taken.
type Rejection struct {
	TypeURL string
	Message string
}

// Listener reports whether the rejected resource is a listener.
func (r Rejection) Listener() bool { return r.TypeURL == resource.ListenerType }

// Rejected receives the configs Envoy refused (best effort, never blocks the
// server; each distinct rejection once per ADS stream).
func (s *Server) Rejected() <-chan Rejection { return s.rejected }

type anyNode struct{}

func (anyNode) ID(*corev3Node) string { return "llmgate" }

// NewServer returns a control plane with no config yet.
func NewServer(log *slog.Logger) *Server {
	s := &Server{cache: cachev3.NewSnapshotCache(true, anyNode{}, nil), log: log, acked: make(chan string, 16), rejected: make(chan Rejection, 16)}
	s.tables = cachev3.NewLinearCache(contract.RoutingTableType)
	classify := func(typeURL string) string {
		if typeURL == contract.RoutingTableType {
			return "tables"
		}
		return "envoy"
	}
	s.mux = &cachev3.MuxCache{
		Classify:      func(r *cachev3.Request) string { return classify(r.GetTypeUrl()) },
		ClassifyDelta: func(r *cachev3.DeltaRequest) string { return classify(r.GetTypeUrl()) },
		Caches:        map[string]cachev3.Cache{"envoy": s.cache, "tables": s.tables},
	}
	return s
}

// SetRoutingTable publishes the routing table that `llmgate extproc
// --xds-address` replicas serve, so every replica runs the same config as
// the Envoys (no replica reads the file on its own and drifts).
func (s *Server) SetRoutingTable(rt *llmgatev1.RoutingTable) error {
	return s.tables.UpdateResource(rt.GetName(), rt)
}

// Set publishes a new config version to every connected and future Envoy.
func (s *Server) Set(ctx context.Context, r *Resources) error {
	res := map[resource.Type][]types.Resource{
		resource.ClusterType:  {},
		resource.RouteType:    {},
		resource.ListenerType: {},
		resource.SecretType:   {},
	}
	for _, x := range r.Secrets {
		res[resource.SecretType] = append(res[resource.SecretType], x)
	}
	for _, c := range r.Clusters {
		res[resource.ClusterType] = append(res[resource.ClusterType], c)
	}
	for _, x := range r.Routes {
		res[resource.RouteType] = append(res[resource.RouteType], x)
	}
	for _, l := range r.Listeners {
		res[resource.ListenerType] = append(res[resource.ListenerType], l)
	}
	snap, err := cachev3.NewSnapshot(r.Version, res)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := snap.Consistent(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.cache.SetSnapshot(ctx, "llmgate", snap); err != nil {
		return err
	}
	s.current = snap
	return nil
}

// Acked receives the versions Envoy acknowledged (best effort, never blocks the server).
func (s *Server) Acked() <-chan string { return s.acked }

// Register adds the ADS service to a gRPC server.
func (s *Server) Register(ctx context.Context, g *grpc.Server) {
	srv := serverv3.NewServer(ctx, s.mux, &callbacks{s: s})
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, srv)
}

// Serve runs a gRPC server with ADS on the listener until ctx is done.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	g := grpc.NewServer()
	s.Register(ctx, g)
	go func() {
		<-ctx.Done()
		g.Stop()
	}()
	return g.Serve(l)
}
