package gateway

import (
	"context"
	"log/slog"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/xds"
)

// table is one routing table received from the control plane.
type table struct {
	cfg     *config.Config
	version string
	// ticketKey signs and verifies tickets on every replica (never logged).
	ticketKey []byte
}

// watchRoutingTable subscribes to the control plane's routing table over ADS
// and delivers every new version; it reconnects until ctx ends. A table that
// cannot be read is NACKed and the previous one keeps serving.
func watchRoutingTable(ctx context.Context, addr string, creds credentials.TransportCredentials, log *slog.Logger) <-chan table {
	out := make(chan table, 1)
	go func() {
		defer close(out)
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := streamTables(ctx, addr, creds, out)
			if ctx.Err() != nil {
				return
			}
			log.Warn("routing table stream ended; reconnecting", "control_plane", addr, "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
	return out
}

func streamTables(ctx context.Context, addr string, creds credentials.TransportCredentials, out chan<- table) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
	if err != nil {
		return err
	}
	defer conn.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	req := &discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "llmgate-extproc"}, TypeUrl: contract.RoutingTableType}
	if err := stream.Send(req); err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		ack := &discoveryv3.DiscoveryRequest{TypeUrl: contract.RoutingTableType, ResponseNonce: resp.GetNonce(), VersionInfo: resp.GetVersionInfo()}
		for _, a := range resp.GetResources() {
			rt := &llmgatev1.RoutingTable{}
			var cfg *config.Config
			if err = a.UnmarshalTo(rt); err == nil {
				cfg, err = xds.ConfigFromRoutingTable(rt)
			}
			if err != nil {
				ack.ErrorDetail = errorStatus(err)
				ack.VersionInfo = req.GetVersionInfo()
				break
			}
			select {
			case out <- table{cfg: cfg, version: rt.GetVersion(), ticketKey: rt.GetTicketKey()}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if ack.ErrorDetail == nil {
			req = ack
		}
		if err := stream.Send(ack); err != nil {
			return err
		}
	}
}

func errorStatus(err error) *statuspb.Status {
	return &statuspb.Status{Code: int32(codes.InvalidArgument), Message: err.Error()}
}
