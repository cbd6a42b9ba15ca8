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

	// Delta xDS (D48): the versions set and the resource types each changed,
	// oldest first; a version is acknowledged once Envoy ACKed every type it
	// changed (a delta push sends nothing for an unchanged type).
	pmu     sync.Mutex
	seq     uint64
	pending []pendingVersion
	sent    map[int64]map[string]sentResponse // delta stream → nonce → what it carried
}

type pendingVersion struct {
	seq     uint64
	version string
	types   map[string]bool
	failed  bool // Envoy rejected one of its types: never reported
}

// maxPending bounds the versions waiting for Envoy (none connected, or one
// that stopped answering): the oldest are forgotten.
const maxPending = 64

type sentResponse struct {
	typeURL string
	seq     uint64
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
	if r.versions != nil {
		// Build's per-resource versions: the cache compares them with what
		// each delta stream holds instead of marshalling every resource.
		snap.VersionMap = map[string]map[string]string{}
		for typ := range res {
			snap.VersionMap[typ] = r.versions[typ]
			if snap.VersionMap[typ] == nil {
				snap.VersionMap[typ] = map[string]string{}
			}
		}
	} else if err := snap.ConstructVersionMap(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expect(r.Version, changedTypes(s.current, snap))
	if err := s.cache.SetSnapshot(ctx, "llmgate", snap); err != nil {
		return err
	}
	s.current = snap
	s.settle()
	return nil
}

// changedTypes are the resource types whose resources differ between two
// snapshots (every non-empty type against none). Only the types Envoy always
// subscribes to count: clusters and listeners (wildcard) and the route
// configuration (named by the listener). SDS secrets are asked for by name
// by the clusters that use them, so a changed secret no Envoy asks for yet
// (or any more) gets no response to wait for.
func changedTypes(old, cur *cachev3.Snapshot) map[string]bool {
	out := map[string]bool{}
	for _, typ := range []string{resource.ClusterType, resource.RouteType, resource.ListenerType} {
		vs := cur.VersionMap[typ]
		var before map[string]string
		if old != nil {
			before = old.VersionMap[typ]
		}
		if len(before) != len(vs) {
			out[typ] = true
			continue
		}
		for name, v := range vs {
			if before[name] != v {
				out[typ] = true
				break
			}
		}
	}
	return out
}

// expect records that version v changes these types; Envoy's ACK of each
// (over delta xDS) acknowledges v.
func (s *Server) expect(v string, types map[string]bool) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.seq++
	if len(s.pending) >= maxPending {
		s.pending = s.pending[1:]
	}
	s.pending = append(s.pending, pendingVersion{seq: s.seq, version: v, types: types})
}

// settle reports every pending version, oldest first, whose types are all
// acknowledged (a version that changed nothing at once).
func (s *Server) settle() {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.settleLocked()
}

func (s *Server) settleLocked() {
	for len(s.pending) > 0 && len(s.pending[0].types) == 0 {
		if !s.pending[0].failed {
			s.ack(s.pending[0].version)
		}
		s.pending = s.pending[1:]
	}
}

// ack reports a version Envoy applied (best effort, never blocks).
func (s *Server) ack(v string) {
	select {
	case s.acked <- v:
	default:
	}
}

// deltaSent remembers what a delta response carried, by stream and nonce:
// its type and the version it brings that type to (the snapshot's, the
// latest set with that version).
func (s *Server) deltaSent(stream int64, nonce, typeURL, version string) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	seq := uint64(0)
	for i := len(s.pending) - 1; i >= 0; i-- {
		if s.pending[i].version == version {
			seq = s.pending[i].seq
			break
		}
	}
	if seq == 0 {
		return // a version already reported: nothing waits for it
	}
	if s.sent == nil {
		s.sent = map[int64]map[string]sentResponse{}
	}
	if s.sent[stream] == nil {
		s.sent[stream] = map[string]sentResponse{}
	}
	s.sent[stream][nonce] = sentResponse{typeURL: typeURL, seq: seq}
}

// deltaAcked: Envoy ACKed the response with this nonce, so its type is at
// the version that was current when it was sent, and no older version waits
// for that type any more.
func (s *Server) deltaAcked(stream int64, nonce string) { s.deltaAnswered(stream, nonce, false) }

// deltaNacked: Envoy rejected the response with this nonce; the versions
// waiting for its type are never reported (Envoy keeps what it had), and
// later ones are not held up by them.
func (s *Server) deltaNacked(stream int64, nonce string) { s.deltaAnswered(stream, nonce, true) }

func (s *Server) deltaAnswered(stream int64, nonce string, rejected bool) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	r, ok := s.sent[stream][nonce]
	if !ok {
		return
	}
	delete(s.sent[stream], nonce)
	for i := range s.pending {
		if s.pending[i].seq <= r.seq && s.pending[i].types[r.typeURL] {
			delete(s.pending[i].types, r.typeURL)
			s.pending[i].failed = s.pending[i].failed || rejected
		}
	}
	s.settleLocked()
}

func (s *Server) deltaClosed(stream int64) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	delete(s.sent, stream)
}

// Acked receives the versions Envoy applied, in the order they were set
// (best effort, never blocks the server): over delta xDS (`llmgate run`'s
// bootstrap) once Envoy ACKed every resource type the version changed; over
// state-of-the-world xDS when it ACKed the route configuration.
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
