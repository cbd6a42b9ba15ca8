package main

/*
#include "dm.h"
*/
import "C"

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/model"
)

// Deployment limits in the module (docs/architecture.md D67,
// extproc/modulelimits.go): the gateway's rpm leases and counter view,
// received on the lease stream, shared by every config the module applies;
// what the module used goes back on the same stream, at once when a lease
// runs low, else every leaseReportEvery while anything was used.

var (
	leases    = extproc.NewModuleLimits()
	leaseOnce sync.Once
)

// leaseReportEvery is how often the module reports its use at most when no
// lease runs low.
const leaseReportEvery = 50 * time.Millisecond

// LeaseSocket is the gateway's lease socket beside the table socket.
func leaseSocket(tableSocket string) string {
	return filepath.Join(filepath.Dir(tableSocket), extproc.ModuleLeaseSocket)
}

// useLimits gives an applied filter the leases, and starts the lease
// stream the first time a table asks for it.
func (c *filterConfig) useLimits(m *extproc.ModuleFilter, want bool) {
	if !want || c.cfg.TableSocket == "" {
		useInFlight(m)
		return
	}
	m.UseLimits(leases)
	useInFlight(m) // tries in flight (limits_inflight.go, D77)
	sock := leaseSocket(c.cfg.TableSocket)
	leaseOnce.Do(func() { go leaseLoop(context.Background(), sock) })
}

func leaseLoop(ctx context.Context, sock string) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := leaseStream(ctx, sock)
		envoyLog(logWarn, fmt.Sprintf("llmgate module: lease stream from %s ended: %v", sock, err))
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func leaseStream(ctx context.Context, sock string) error {
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := conn.NewStream(ctx, &extproc.LeaseStreamDesc, extproc.LeaseStreamMethod)
	if err != nil {
		return err
	}
	if err := extproc.SendLease(st, leases.Used()); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		for {
			var t extproc.LeaseTable
			if err := extproc.RecvLease(st, &t); err != nil {
				errc <- err
				return
			}
			leases.Apply(&t)
		}
	}()
	tick := time.NewTicker(leaseReportEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return err
		case <-leases.Low():
		case <-tick.C:
			if !leases.Changed() {
				continue
			}
		}
		if err := extproc.SendLease(st, leases.Used()); err != nil {
			return err
		}
	}
}

// leaseTry charges a later try of a fast plan to its deployment's lease;
// false when the try was answered (refused: its lease is spent).
func leaseTry(f C.uintptr_t, d *model.Deployment) bool {
	if d == nil || d.Limits.RPM == 0 {
		return true
	}
	ac, ok := getHeader(f, "x-envoy-attempt-count")
	if !ok {
		return true
	}
	n, err := strconv.Atoi(string(ac))
	if err != nil {
		return true
	}
	if r := leases.ChargeTry(d, n); r != nil {
		sendReply(f, r)
		return false
	}
	return true
}

// leaseDeployment is the deployment of plan entry n (Envoy's attempt
// count) when the module keeps a lease window for it ("": none).
func leaseDeployment(p *extproc.RespPlan, n int) string {
	return leases.Deployment(p, n)
}

// leaseTokens counts an answer's tokens against its deployment's window at
// once (the store has them once the gateway reported the outcome).
func leaseTokens(id string, u *extproc.RespUsage) {
	if id == "" || !u.Known() {
		return
	}
	leases.AddUsage(id, u)
}
