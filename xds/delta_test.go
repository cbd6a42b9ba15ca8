package xds

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/llmgate/llmgate/config"
)

func deltaConfig(t testing.TB, n int, moved int) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("model_list:\n")
	for i := 0; i < n; i++ {
		path := fmt.Sprintf("d%d", i)
		if i == moved {
			path += "-moved"
		}
		fmt.Fprintf(&b, "  - model_name: g%d\n    litellm_params: {model: openai/gpt-4o, api_base: \"http://127.0.0.1:9/%s/v1\", api_key: k}\n", i/10, path)
	}
	cfg, err := config.Parse([]byte(b.String()), "delta.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestDeltaPushCarriesOnlyTheChange is D48 at the protocol level: an Envoy
// on delta ADS (the bootstrap's DELTA_GRPC) gets a config change of one
// deployment in 100 as that change — one cluster added, one removed, the
// route configuration — not every cluster again, and no listener; and the
// server reports each version as applied once every type it changed is
// ACKed (a delta push sends nothing for an unchanged type, so waiting for a
// route ACK alone, as over state-of-the-world, could wait forever).
func TestDeltaPushCarriesOnlyTheChange(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sock := filepath.Join(t.TempDir(), "xds.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = srv.Serve(ctx, l) }()
	o := Options{ListenAddress: "127.0.0.1", Port: 4000, ExtProcSocket: "/tmp/x.sock"}

	first, err := Build(deltaConfig(t, 100, -1), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Set(ctx, first); err != nil {
		t.Fatal(err)
	}

	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []*discoveryv3.DeltaDiscoveryRequest{
		{TypeUrl: resource.ClusterType},
		{TypeUrl: resource.ListenerType},
		{TypeUrl: resource.RouteType, ResourceNamesSubscribe: []string{RouteConfigName}},
	} {
		if err := stream.Send(sub); err != nil {
			t.Fatal(err)
		}
	}
	type got struct {
		added, removed []string
	}
	// recv reads n responses, ACKs each, and returns them by type.
	recv := func(n int) map[string]got {
		out := map[string]got{}
		for i := 0; i < n; i++ {
			r, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			g := out[r.TypeUrl]
			for _, x := range r.Resources {
				g.added = append(g.added, x.Name)
			}
			g.removed = append(g.removed, r.RemovedResources...)
			out[r.TypeUrl] = g
			if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: r.TypeUrl, ResponseNonce: r.Nonce}); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	waitAcked := func(v string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case got := <-srv.Acked():
				if got == v {
					return
				}
			case <-deadline:
				t.Fatalf("version %s never reported as applied", v)
			}
		}
	}

	initial := recv(3)
	if n := len(initial[resource.ClusterType].added); n != 104 {
		t.Fatalf("initial push: %d clusters, want 104 (ext_proc + 2 client-side + 100 deployments + the plain realtime cluster, D164)", n)
	}
	waitAcked(first.Version)

	second, err := Build(deltaConfig(t, 100, 42), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Set(ctx, second); err != nil {
		t.Fatal(err)
	}
	change := recv(2) // clusters and routes; the listener did not change
	c := change[resource.ClusterType]
	if len(c.added) != 1 || len(c.removed) != 1 || c.added[0] == c.removed[0] {
		t.Fatalf("a change of one deployment sent clusters added %v, removed %v; want one of each", c.added, c.removed)
	}
	if r := change[resource.RouteType]; len(r.added) != 1 || r.added[0] != RouteConfigName {
		t.Fatalf("routes sent %v, want the route configuration", r.added)
	}
	if _, ok := change[resource.ListenerType]; ok {
		t.Fatal("an unchanged listener was sent again")
	}
	waitAcked(second.Version)

	// A version that changes nothing is applied at once; nothing is sent.
	if err := srv.Set(ctx, second); err != nil {
		t.Fatal(err)
	}
	waitAcked(second.Version)
	names := append(initial[resource.ClusterType].added, c.added...)
	sort.Strings(names)
	if len(names) != 105 {
		t.Fatalf("clusters seen %d, want 105", len(names))
	}
}
