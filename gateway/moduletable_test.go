package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
)

func tableTestConfig(t *testing.T, n, moved int) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("model_list:\n")
	for i := 0; i < n; i++ {
		suffix := ""
		if i == moved {
			suffix = "-moved"
		}
		fmt.Fprintf(&b, "  - model_name: g%d\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: http://127.0.0.1:9/d%d%s/v1\n      api_key: sk-%d\n", i/10, i, suffix, i)
	}
	cfg, err := config.Parse([]byte(b.String()), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestModuleTableDelta (D62): over the module's ADS socket the first push
// carries every part, a change of one deployment only the common part and
// the shards it touched, the module's side rebuilds the config from them,
// and WaitConfig returns once the module ACKed the push (not on a NACK, not
// before the ACK).
func TestModuleTableDelta(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "mt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "m.sock")
	srv, err := ServeModuleTables(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	key := make([]byte, 32)
	cfg := tableTestConfig(t, 200, -1)
	g1, err := srv.PublishConfig(cfg, "v1", key, extproc.ModuleConfig{})
	if err != nil {
		t.Fatal(err)
	}
	short, c2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer c2()
	if srv.WaitConfig(short, g1) {
		t.Fatal("applied with no module subscribed")
	}

	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := contract.ModuleTableNames()
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "m"}, TypeUrl: contract.ModuleTableType, ResourceNames: names}); err != nil {
		t.Fatal(err)
	}
	var a extproc.ModuleTableAssembler
	recv := func() (*discoveryv3.DiscoveryResponse, *config.Config) {
		t.Helper()
		resp, err := stream.Recv()
		for err == nil && len(resp.GetResources()) == 0 {
			// (the answer to a NACK: nothing new; ACKed as the module does)
			_ = stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: contract.ModuleTableType, ResourceNames: names, ResponseNonce: resp.GetNonce(), VersionInfo: resp.GetVersionInfo()})
			resp, err = stream.Recv()
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.GetResources() {
			var bv wrapperspb.BytesValue
			if err := proto.Unmarshal(r.GetValue(), &bv); err != nil {
				t.Fatal(err)
			}
			if err := a.Apply(bv.GetValue()); err != nil {
				t.Fatal(err)
			}
		}
		got, _, ok, err := a.Config()
		if !ok || err != nil {
			var names []string
			for _, r := range resp.GetResources() {
				var bv wrapperspb.BytesValue
				_ = proto.Unmarshal(r.GetValue(), &bv)
				names = append(names, string(bv.GetValue()[:min(40, len(bv.GetValue()))]))
			}
			t.Fatalf("the response (version %s: %q) does not make a whole table (%v)", resp.GetVersionInfo(), names, err)
		}
		return resp, got
	}
	ack := func(resp *discoveryv3.DiscoveryResponse, nack bool) {
		t.Helper()
		r := &discoveryv3.DiscoveryRequest{TypeUrl: contract.ModuleTableType, ResourceNames: names, ResponseNonce: resp.GetNonce(), VersionInfo: resp.GetVersionInfo()}
		if nack {
			r.VersionInfo = ""
			r.ErrorDetail = &statuspb.Status{Code: 3, Message: "refused"}
		}
		if err := stream.Send(r); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(gen uint64, d time.Duration) bool {
		c, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return srv.WaitConfig(c, gen)
	}

	resp, got := recv()
	if n := len(resp.GetResources()); n != contract.ModuleTableShards+1 {
		t.Fatalf("first push: %d parts", n)
	}
	if len(got.Models) != 200 || got.Models[150].Params.APIKey != "sk-150" {
		t.Fatal("the module's config is not the pushed one")
	}
	if waitFor(g1, 100*time.Millisecond) {
		t.Fatal("applied before the module's ACK")
	}
	ack(resp, false)
	if !waitFor(g1, 5*time.Second) {
		t.Fatal("not applied after the module's ACK")
	}

	g2, err := srv.PublishConfig(tableTestConfig(t, 200, 150), "v2", key, extproc.ModuleConfig{})
	if err != nil {
		t.Fatal(err)
	}
	resp, got = recv()
	if n := len(resp.GetResources()); n < 2 || n > 3 {
		t.Fatalf("one deployment moved: %d parts pushed, want the common part and one or two shards", n)
	}
	if !strings.Contains(got.Models[150].Params.APIBase, "-moved") || got.Models[149].Params.APIKey != "sk-149" {
		t.Fatal("the module's config is not the changed one")
	}
	ack(resp, true)
	if waitFor(g2, 200*time.Millisecond) {
		t.Fatal("a NACKed push counted as applied")
	}
	g3, err := srv.PublishConfig(tableTestConfig(t, 200, 150), "v2", key, extproc.ModuleConfig{Cooling: map[string]int64{"x": 1}})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = recv()
	if n := len(resp.GetResources()); n != 1 {
		t.Fatalf("a cooldown pushed %d parts, want the common part only", n)
	}
	ack(resp, false)
	if !waitFor(g3, 5*time.Second) || !waitFor(g2, time.Second) {
		t.Fatal("not applied after the module's ACK")
	}
}
