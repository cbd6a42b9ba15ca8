package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/xds"
)

func envoyReady(c *http.Client, base string) bool {
	resp, err := c.Get(base + "/ready")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// watch reloads the config when its file, or a file it includes, changes. The directory is watched,
// not the file, so editors that replace the file (rename over it) and
// Kubernetes ConfigMap symlink swaps are seen too.
func (g *Gateway) watch(ctx context.Context, path string) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		g.log.Error("config watch disabled", "error", err)
		return
	}
	defer w.Close()
	dir := filepath.Dir(path)
	if err := w.Add(dir); err != nil {
		g.log.Error("config watch disabled", "dir", dir, "error", err)
		return
	}
	abs, _ := filepath.Abs(path)
	// The files the config includes are watched too (their directories,
	// added again after each reload: the list may change).
	watched := func(p string) bool {
		if p == abs {
			return true
		}
		if cfg := g.current(); cfg != nil {
			for _, inc := range cfg.Includes {
				if a, _ := filepath.Abs(inc); a == p {
					return true
				}
			}
		}
		return false
	}
	watchIncludes := func() {
		if cfg := g.current(); cfg != nil {
			for _, inc := range cfg.Includes {
				if err := w.Add(filepath.Dir(inc)); err != nil {
					g.log.Warn("config watch: an included file's directory", "dir", filepath.Dir(inc), "error", err)
				}
			}
		}
	}
	watchIncludes()
	var timer *time.Timer
	fire := make(chan struct{}, 1)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			p, _ := filepath.Abs(ev.Name)
			if !watched(p) && filepath.Base(ev.Name) != "..data" {
				continue
			}
			// Debounce: editors write in several steps (Reload then also
			// waits for the file to stop changing).
			if timer != nil {
				timer.Stop()
			}
			timer = time.AfterFunc(reloadDebounce, func() {
				select {
				case fire <- struct{}{}:
				default:
				}
			})
		case err := <-w.Errors:
			g.log.Warn("config watch", "error", err)
		case <-fire:
			g.Reload(ctx)
			watchIncludes()
		}
	}
}

// Reload loads the config again. A bad config is logged and the old one keeps
// serving. A good one is pushed in two steps so no request fails: first the
// union of old and new clusters and routes (so whatever either config's plans
// name exists), then, once Envoy has it, the request filter switches to the
// new config, and a moment later the old-only resources are dropped.
func (g *Gateway) Reload(ctx context.Context) {
	if g.o.ConfigPath != "" {
		waitStable(ctx, g.o.ConfigPath)
	}
	cfg, err := g.load()
	if err == nil {
		err = g.addStoredModels(ctx, cfg)
	}
	if err != nil {
		g.log.Error("config reload rejected; the previous config keeps serving", "error", err.Error())
		return
	}
	if msg := keyRemoved(g.current(), cfg); msg != "" {
		g.log.Error("config reload rejected; the previous config keeps serving", "error", msg)
		return
	}
	res, err := xds.Build(cfg, g.xdsOptions())
	if err != nil {
		g.log.Error("config reload rejected; the previous config keeps serving", "error", err.Error())
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ensureMetrics(cfg)
	g.ensureCallbacks(cfg)
	g.ensureAlerting(cfg)
	if res.Version == g.version || g.xds == nil {
		// Same Envoy resources (or an ext_proc-only process); settings that
		// only the filters read may still differ.
		if g.ext != nil {
			g.ext.Swap(g.newState(cfg, res.Model, res.Version))
		}
		old := g.version
		g.cfg, g.version = cfg, res.Version
		g.publishTable(cfg, res.Version)
		g.publishModule(cfg, res.Version)
		logReloaded(g.log, old, res.Version, len(cfg.Models), "file")
		return
	}
	logWarnings(g.log, cfg)
	union := unionConfig(g.cfg, cfg)
	ures, err := xds.Build(union, g.xdsOptions())
	if err != nil {
		g.log.Error("config reload rejected; the previous config keeps serving", "error", err.Error())
		return
	}
	if err := g.xds.Set(ctx, ures); err != nil {
		g.log.Error("config reload rejected; the previous config keeps serving", "error", err.Error())
		return
	}
	g.waitAck(ures.Version, 2*time.Second)
	g.waitWarm(2 * time.Second)
	// The module first (D62): the ext_proc filter plans onto the new
	// deployments only once the module (every try's upstream filter, D55)
	// knows them, and the drop below comes two seconds after both switched.
	var next *extproc.State
	if g.ext != nil {
		next = g.newState(cfg, res.Model, res.Version)
		g.ext.State().Upcoming(next) // a try the module plans first finds its deployment
	}
	g.waitModule(ctx, g.publishModule(cfg, res.Version))
	if next != nil {
		g.ext.Swap(next)
	}
	old := g.version
	g.cfg, g.version = cfg, res.Version
	g.publishTable(cfg, res.Version)
	logReloaded(g.log, old, res.Version, len(cfg.Models), "file")
	go func() {
		// Requests planned with the old config are in Envoy by now.
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.version != res.Version {
			return // a newer reload took over
		}
		if err := g.xds.Set(ctx, res); err != nil {
			g.log.Error("config reload: dropping old resources failed", "error", err.Error())
		}
	}()
}

// waitAck waits until Envoy acknowledged the routes of version v.
func (g *Gateway) waitAck(v string, limit time.Duration) {
	deadline := time.After(limit)
	for {
		select {
		case got := <-g.xds.Acked():
			if got == v {
				return
			}
		case <-deadline:
			g.log.Warn("envoy did not acknowledge the new config in time", "version", v)
			return
		}
	}
}

// unionConfig is the new config plus the old deployments it dropped.
func unionConfig(old, cur *config.Config) *config.Config {
	u := *cur
	seen := map[string]bool{}
	u.Models = append([]config.Deployment{}, cur.Models...)
	for _, d := range cur.Models {
		seen[d.ID] = true
	}
	for _, d := range old.Models {
		if !seen[d.ID] {
			u.Models = append(u.Models, d)
		}
	}
	return &u
}

// logReloaded is the one reload line every process writes (llmgate run, the
// control plane, each ext_proc replica): the config version before and
// after (the same version string everywhere for one config), the number of
// deployments, and where the config came from ("file", "control_plane").
func logReloaded(log *slog.Logger, from, to string, deployments int, source string) {
	log.Info("config reloaded", "from", from, "to", to, "deployments", deployments, "source", source)
}
