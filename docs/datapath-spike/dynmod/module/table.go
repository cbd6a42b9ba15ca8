package main

import (
	"context"
	"fmt"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/llmgate/llmgate/internal/contract"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// routingTable is the part of llmgate.v1.RoutingTable the request filter
// uses: the deployment clusters of each model group, in config order.
type routingTable struct {
	version string
	groups  map[string][]string
}

// subscribe runs on its own goroutine for the life of Envoy: it reads the
// routing table from `llmgate controlplane` over ADS (the same stream
// `llmgate extproc --xds-address` replicas read, D36), ACKs every version and
// swaps the table the workers read with one atomic store. Envoy's workers
// never wait for it.
func (c *config) subscribe() {
	backoff := 100 * time.Millisecond
	for {
		err := c.streamTables()
		envoyLog(logWarn, fmt.Sprintf("llmgate dynmod: routing table stream from %s ended: %v", c.xdsAddr, err))
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (c *config) streamTables() error {
	conn, err := grpc.NewClient(c.xdsAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
	if err != nil {
		return err
	}
	defer conn.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(context.Background())
	if err != nil {
		return err
	}
	req := &discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "llmgate-dynmod"}, TypeUrl: contract.RoutingTableType}
	if err := stream.Send(req); err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		for _, a := range resp.GetResources() {
			rt := &llmgatev1.RoutingTable{}
			if err := a.UnmarshalTo(rt); err != nil {
				return err
			}
			t := &routingTable{version: rt.GetVersion(), groups: map[string][]string{}}
			for _, d := range rt.GetDeployments() {
				t.groups[d.GetModelGroup()] = append(t.groups[d.GetModelGroup()], d.GetCluster())
			}
			c.table.Store(t)
			envoyLog(logInfo, fmt.Sprintf("llmgate dynmod: routing table %s applied: %v", t.version, t.groups))
		}
		ack := &discoveryv3.DiscoveryRequest{TypeUrl: contract.RoutingTableType, ResponseNonce: resp.GetNonce(), VersionInfo: resp.GetVersionInfo()}
		if err := stream.Send(ack); err != nil {
			return err
		}
	}
}
