package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/gateway"
	"github.com/llmgate/llmgate/xds"
)

// The scale run in module mode (the default; `llmbench --scale-only …`,
// docs/architecture.md D55, D62): the Envoy loads llmgate's module, the
// resources are built as `llmgate run` builds them in module mode (bare
// clusters, the router's shared upstream filters, no SDS secrets), and the
// module gets each config as its table over ADS from the gateway's own
// table server (gateway.ServeModuleTables: the same parts, pushed the same
// way): the module decodes it inside Envoy, so its cost is in Envoy's CPU
// figure, and a push ends when Envoy ACKed the resources and the module the
// table.

// scaleModule serves the module table to the scale Envoy's module.
type scaleModule struct {
	tables *gateway.ModuleTableServer
}

// startScaleModule links the module where Envoy looks for it and serves its
// table; env is Envoy's extra environment, cfg the module's filter config.
func startScaleModule(ctx context.Context, dir, llmgateBin string) (m *scaleModule, env []string, cfg *filter.Config, err error) {
	lib := filepath.Join(filepath.Dir(llmgateBin), filter.LibraryFile)
	if _, err := os.Stat(lib); err != nil {
		return nil, nil, nil, fmt.Errorf("module mode: the module %s is missing (make build; --scale-extproc measures without it): %w", lib, err)
	}
	if env, err = gateway.LinkModule(lib, dir); err != nil {
		return nil, nil, nil, err
	}
	sock := filepath.Join(dir, "module.sock")
	tables, err := gateway.ServeModuleTables(ctx, sock)
	if err != nil {
		return nil, nil, nil, err
	}
	return &scaleModule{tables: tables}, env, &filter.Config{Marker: "llmbench-scale", TableSocket: sock}, nil
}

// publish pushes a config to the module (as the gateway does, with the
// upstream filter on) and returns the push's generation.
func (m *scaleModule) publish(cfg *config.Config, version string) (uint64, error) {
	return m.tables.PublishConfig(cfg, version, make([]byte, xds.MinTicketKeyBytes), extproc.ModuleConfig{OffPathOutcomes: true, Upstream: true})
}

// applied reports (on ch) once the module applied push gen, waiting for it
// to subscribe first.
func (m *scaleModule) applied(ctx context.Context, gen uint64) <-chan bool {
	ch := make(chan bool, 1)
	go func() {
		for ctx.Err() == nil {
			if m.tables.WaitConfig(ctx, gen) {
				ch <- true
				return
			}
			select { // not subscribed yet: Envoy builds the listener after the clusters
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
		ch <- false
	}()
	return ch
}

func (m *scaleModule) stop() { m.tables.Stop() }
