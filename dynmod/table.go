package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
)

// subscribe runs on its own goroutine for the life of Envoy: it reads the
// module table from `llmgate run` over ADS (its Unix socket), ACKs every
// version (NACKs one it cannot read: the previous one keeps serving) and
// swaps the filter the workers read with one atomic store. Envoy's workers
// never wait for it; until the first table arrives every request goes to
// the ext_proc filter.
//
// apply gets every resource of a response; commit (when not nil) runs once
// after them, and its error NACKs the response too.
func (c *filterConfig) subscribe(names []string, apply func([]byte) error, commit func() error) {
	backoff := 100 * time.Millisecond
	for c.ctx.Err() == nil {
		err := c.streamTables(names, apply, commit)
		if c.ctx.Err() != nil {
			return // the config was destroyed
		}
		envoyLog(logWarn, fmt.Sprintf("llmgate module: table stream from %s ended: %v", c.cfg.TableSocket, err))
		select {
		case <-c.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func (c *filterConfig) streamTables(names []string, apply func([]byte) error, commit func() error) error {
	conn, err := grpc.NewClient("unix://"+c.cfg.TableSocket, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
	if err != nil {
		return err
	}
	defer conn.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(c.ctx)
	if err != nil {
		return err
	}
	req := &discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "llmgate-module"}, TypeUrl: contract.ModuleTableType, ResourceNames: names}
	if err := stream.Send(req); err != nil {
		return err
	}
	version := ""
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		ack := &discoveryv3.DiscoveryRequest{TypeUrl: contract.ModuleTableType, ResourceNames: names, ResponseNonce: resp.GetNonce(), VersionInfo: resp.GetVersionInfo()}
		for _, a := range resp.GetResources() {
			if err = apply(a.GetValue()); err != nil {
				break
			}
		}
		if err == nil && commit != nil {
			err = commit()
		}
		if err != nil {
			envoyLog(logError, "llmgate module: table refused: "+err.Error())
			ack.VersionInfo = version
			ack.ErrorDetail = &statuspb.Status{Code: int32(codes.InvalidArgument), Message: err.Error()}
		} else {
			version = resp.GetVersionInfo()
		}
		if err := stream.Send(ack); err != nil {
			return err
		}
	}
}

// applyPart decodes one part of the config table (D62: the common part or
// one model_list shard); commitTable builds the filter once the parts make
// a whole table.
func (c *filterConfig) applyPart(raw []byte) error {
	var bv wrapperspb.BytesValue
	if err := proto.Unmarshal(raw, &bv); err != nil {
		return err
	}
	return c.table.Apply(bv.GetValue())
}

func (c *filterConfig) commitTable() error {
	cfg, t, ok, err := c.table.Config()
	if err != nil || !ok {
		return err
	}
	m := extproc.NewModuleFilter(cfg, t.Version, t.Module, quietLog)
	m.OmitLogFields(c.cfg.NoAccessLog) // (D105)
	m.UseKeys(c.keys)
	c.useLimits(m, t.Module.Leases) // rpm leases and counters (limits.go, D67)
	c.filter.Store(m)
	applyUpstream(m) // the per-try filter's clusters (upstream.go)
	msg := "serves what it can"
	if m.Off() != "" {
		msg = "hands every request to ext_proc: " + m.Off()
	}
	envoyLog(logInfo, fmt.Sprintf("llmgate module: config %s applied (%d cooling); the module %s", t.Version, len(t.Module.Cooling), msg))
	return nil
}
