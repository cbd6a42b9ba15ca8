package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/envoy"
	"github.com/llmgate/llmgate/xds"
)

// ScaleResult is the control plane's cost for one config size.
type ScaleResult struct {
	Deployments int
	// Change: the same size again with one deployment moved to a new
	// api_base (a reload of a large config), not a new size.
	Change bool
	// Hosts: every deployment on its own host (ScaleConfigHosts: one
	// cluster of them all in module mode, D86), not all on the fake
	// provider's.
	Hosts    bool
	Parse    time.Duration // YAML → config.Config (validation included)
	Build    time.Duration // xds.Build: Envoy resources
	Push     time.Duration // xds.Server.Set → Envoy ACKed every resource type the change touched
	EnvoyRSS int64         // Envoy's RSS after the push
	EnvoyCPU time.Duration // Envoy's CPU time (user + system) during the push
	// Module (module mode only): from the push's start until the module in
	// Envoy ACKed the config's table (Push includes it).
	Module time.Duration
}

// Name is the row's name: the count, then ", one moved" or ", each on its
// own host".
func (r ScaleResult) Name() string {
	name := fmt.Sprint(r.Deployments)
	switch {
	case r.Hosts:
		name += ", each on its own host"
	case r.Change:
		name += ", one moved"
	}
	return name
}

// Total is parse + build + push.
func (r ScaleResult) Total() time.Duration { return r.Parse + r.Build + r.Push }

// ControlPlaneScale compiles configs of each size and pushes them, in order,
// to one real Envoy over ADS (the same xds.Server and bootstrap as `llmgate
// run`), timing each step. The Envoy first gets a one-deployment config, so
// every timed push is a config change on a connected Envoy. Last, the
// largest size is pushed again with one deployment moved: a reload of a
// large config; then with every deployment on its own host (a cluster
// each).
func ControlPlaneScale(ctx context.Context, o *Options, fakeURL string, sizes []int) ([]ScaleResult, error) {
	dir, err := os.MkdirTemp(o.WorkDir, "scale-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// As `llmgate run` compiles them (gateway xdsOptions).
	xo := xds.Options{ListenAddress: "127.0.0.1", Port: uint32(port), ExtProcSocket: filepath.Join(dir, "extproc.sock"), FastPath: true}
	sock := filepath.Join(dir, "xds.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := xds.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = srv.Serve(ctx, l) }()

	var mod *scaleModule
	var envoyEnv []string
	if !o.ScaleExtProc {
		if mod, envoyEnv, xo.RequestModule, err = startScaleModule(ctx, dir, o.LLMGateBin); err != nil {
			return nil, err
		}
		defer mod.stop()
	}

	// The setting `llmgate run` uses for large configs (above 1,000 deployments).
	boot, err := envoy.BootstrapJSON(envoy.BootstrapOptions{XDSSocket: sock, NoDeploymentStats: true, StateOfTheWorld: o.ScaleSotW})
	if err != nil {
		return nil, err
	}
	bootPath := filepath.Join(dir, "bootstrap.json")
	if err := os.WriteFile(bootPath, boot, 0o600); err != nil {
		return nil, err
	}
	adminPath := filepath.Join(dir, "admin.address")
	argv := o.Pin.command(o.Pin.SUTCPU, []string{o.EnvoyBin, "--config-path", bootPath, "--log-level", "error",
		"--concurrency", strconv.Itoa(o.EnvoyConcurrency), "--disable-hot-restart", "--admin-address-path", adminPath})
	p, err := startProc("scale-envoy", dir, argv, envoyEnv)
	if err != nil {
		return nil, err
	}
	defer p.Stop(5 * time.Second)

	push := func(n, moved int, hosts bool) (ScaleResult, error) {
		r := ScaleResult{Deployments: n, Change: moved >= 0, Hosts: hosts}
		yaml := []byte(ScaleConfigMoved(fakeURL, n, moved))
		if hosts {
			yaml = []byte(ScaleConfigHosts(fakeURL, n))
		}
		t0 := time.Now()
		cfg, err := config.Parse(yaml, fmt.Sprintf("scale-%d.yaml", n), os.LookupEnv)
		if err != nil {
			return r, fmt.Errorf("parse %d deployments: %w", n, err)
		}
		t1 := time.Now()
		res, err := xds.Build(cfg, xo)
		if err != nil {
			return r, fmt.Errorf("build %d deployments: %w", n, err)
		}
		t2 := time.Now()
		for drained := false; !drained; {
			select {
			case <-srv.Acked():
			default:
				drained = true
			}
		}
		cpu0 := envoyCPU(p.PID())
		if err := srv.Set(ctx, res); err != nil {
			return r, fmt.Errorf("push %d deployments: %w", n, err)
		}
		// Module mode: the module's table right after (as the gateway does).
		var tableCh <-chan bool
		if mod != nil {
			gen, err := mod.publish(cfg, res.Version)
			if err != nil {
				return r, fmt.Errorf("module table of %d deployments: %w", n, err)
			}
			tableCh = mod.applied(ctx, gen)
		}
		timeout := time.After(2 * time.Minute)
		for acked, tableAcked := false, tableCh == nil; !acked || !tableAcked; {
			select {
			case v := <-srv.Acked():
				acked = acked || v == res.Version
			case ok := <-tableCh:
				tableCh = nil
				if !ok {
					return r, fmt.Errorf("the module did not apply the table of %d deployments", n)
				}
				tableAcked, r.Module = true, time.Since(t2)
			case <-p.done:
				return r, fmt.Errorf("envoy exited during the push of %d deployments:\n%s", n, p.LogTail(2000))
			case <-timeout:
				return r, fmt.Errorf("envoy did not acknowledge %d deployments (resources %v, module table %v) within 2m", n, acked, tableAcked)
			}
		}
		t3 := time.Now()
		r.Parse, r.Build, r.Push = t1.Sub(t0), t2.Sub(t1), t3.Sub(t2)
		r.EnvoyCPU = envoyCPU(p.PID()) - cpu0
		if s, err := readProc(p.PID()); err == nil {
			r.EnvoyRSS = s.RSS
		}
		return r, nil
	}
	if _, err := push(1, -1, false); err != nil {
		return nil, err
	}
	var out []ScaleResult
	for _, n := range sizes {
		r, err := push(n, -1, false)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	if len(sizes) > 0 {
		n := slices.Max(sizes)
		r, err := push(n, n/2, false)
		if err != nil {
			return out, err
		}
		out = append(out, r)
		// Last, the largest size with every deployment on its own host.
		if r, err = push(n, -1, true); err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func envoyCPU(pid int) time.Duration {
	s, err := readProc(pid)
	if err != nil {
		return 0
	}
	return s.CPU
}

// ReloadTimes rewrites llmgate's config file n times, each time moving the
// deployments to a new api_base, and measures how long it takes from the
// rename until a response carries the new api_base in x-litellm-model-api-base.
func ReloadTimes(ctx context.Context, gate *Target, cfgPath, fakeURL string, n int, settle time.Duration) ([]time.Duration, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	var out []time.Duration
	for i := 1; i <= n; i++ {
		prefix := fmt.Sprintf("reload%d-", i)
		tmp := cfgPath + ".tmp"
		if err := os.WriteFile(tmp, []byte(TypicalConfig(fakeURL, prefix)), 0o600); err != nil {
			return out, err
		}
		start := time.Now()
		if err := os.Rename(tmp, cfgPath); err != nil {
			return out, err
		}
		for {
			if time.Since(start) > 10*time.Second {
				return out, fmt.Errorf("reload %d: new api_base not served after 10s", i)
			}
			code, h, err := postOnce(ctx, c, gate.Endpoint)
			if err == nil && code == http.StatusOK && strings.Contains(h.Get("x-litellm-model-api-base"), "/"+prefix+"dep-") {
				out = append(out, time.Since(start))
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(settle)
	}
	return out, nil
}
