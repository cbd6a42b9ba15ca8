package gateway

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/keys"
)

func snapshotResource(t *testing.T, gen uint64) *anypb.Any {
	t.Helper()
	js, err := json.Marshal(&keys.Snapshot{Gen: gen, At: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, err := anypb.New(wrapperspb.Bytes(js))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestSnapshotGen: the generation is read from the resource's first bytes.
func TestSnapshotGen(t *testing.T) {
	for _, g := range []uint64{0, 7, 1 << 40} {
		if got, ok := snapshotGen(snapshotResource(t, g).GetValue()); !ok || got != g {
			t.Errorf("gen %d: read %d %v", g, got, ok)
		}
	}
	b, _ := proto.Marshal(wrapperspb.Bytes([]byte(`{"routing_table":"x"}`)))
	if _, ok := snapshotGen(b); ok {
		t.Error("a module table read as a key table")
	}
}

// TestKeyAcksWait: a management change waits until the module acknowledged
// a key table of its generation; without a subscribed module it does not wait.
func TestKeyAcksWait(t *testing.T) {
	a := newKeyAcks()
	cb := a.callbacks()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if a.wait(ctx, 3) {
		t.Fatal("no module subscribed: waited and succeeded")
	}
	req := &discoveryv3.DiscoveryRequest{TypeUrl: contract.ModuleTableType, ResourceNames: []string{contract.ModuleKeysName}}
	_ = cb.OnStreamRequest(1, req)
	done := make(chan bool)
	go func() { done <- a.wait(ctx, 3) }()
	for _, g := range []uint64{2, 3} {
		v := map[uint64]string{2: "10", 3: "11"}[g]
		a.pushed(g)
		cb.OnStreamResponse(ctx, 1, req, &discoveryv3.DiscoveryResponse{VersionInfo: v, Resources: []*anypb.Any{snapshotResource(t, g)}})
		select {
		case <-done:
			t.Fatalf("returned before the module acknowledged generation 3 (sent %d)", g)
		case <-time.After(50 * time.Millisecond):
		}
		_ = cb.OnStreamRequest(1, &discoveryv3.DiscoveryRequest{TypeUrl: contract.ModuleTableType, ResourceNames: []string{contract.ModuleKeysName}, VersionInfo: v, ResponseNonce: "n" + v})
	}
	if !<-done {
		t.Fatal("not released by the acknowledgement")
	}
	// A table equal to the one pushed: applied with it.
	a.pushed(4)
	cb.OnStreamResponse(ctx, 1, req, &discoveryv3.DiscoveryResponse{VersionInfo: "12", Resources: []*anypb.Any{snapshotResource(t, 4)}})
	a.unchanged(5)
	short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	if a.wait(short, 5) {
		t.Fatal("an unchanged table counted as applied before the module acknowledged the last push")
	}
	_ = cb.OnStreamRequest(1, &discoveryv3.DiscoveryRequest{TypeUrl: contract.ModuleTableType, ResourceNames: []string{contract.ModuleKeysName}, VersionInfo: "12", ResponseNonce: "n12"})
	if !a.wait(ctx, 5) {
		t.Fatal("an unchanged table not applied with the last push's acknowledgement")
	}
	a.unchanged(6)
	if !a.wait(ctx, 6) {
		t.Fatal("an unchanged table after the last push was acknowledged: not applied at once")
	}
}

// TestModuleAcksStreams: the one ack tracker serves both tables, each
// following its own stream's requests only.
func TestModuleAcksStreams(t *testing.T) {
	ka, ta := newKeyAcks(), newTableAcks()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	keysReq := &discoveryv3.DiscoveryRequest{TypeUrl: contract.ModuleTableType, ResourceNames: []string{contract.ModuleKeysName}}
	ka.request(1, keysReq)
	ta.request(1, keysReq)
	ka.pushed(1)
	ka.response(keysReq, &discoveryv3.DiscoveryResponse{VersionInfo: "1", Resources: []*anypb.Any{snapshotResource(t, 1)}})
	ack := &discoveryv3.DiscoveryRequest{TypeUrl: contract.ModuleTableType, ResourceNames: []string{contract.ModuleKeysName}, VersionInfo: "1", ResponseNonce: "n1"}
	ka.request(1, ack)
	ta.request(1, ack)
	if !ka.wait(ctx, 1) {
		t.Fatal("the key table's acknowledgement not seen")
	}
	if ta.wait(ctx, 1) {
		t.Fatal("the config table's tracker took the key table's stream")
	}
	ka.closed(1)
	if ka.wait(ctx, 2) {
		t.Fatal("waited with no module subscribed")
	}
}
