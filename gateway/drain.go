package gateway

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmgate/llmgate/envoy"
	"github.com/llmgate/llmgate/xds"
)

// drain stops the gateway gracefully (SIGTERM, Ctrl-C): /health/readiness
// answers 503, Envoy drains its listener (every response now carries
// Connection: close, HTTP/2 clients get GOAWAY, and the listener closes after
// Envoy's drain time), and requests and streams in flight may finish for up
// to DrainTimeout. Then Envoy is stopped. With nothing in flight it stops at
// once.
func (g *Gateway) drain(proc *envoy.Process, admin *adminEndpoint) {
	start := time.Now()
	g.ext.SetDraining(true)
	c := admin.client()
	active := -1
	if _, ok := admin.address(); ok && g.o.DrainTimeout > 0 {
		active = activeRequests(c, admin.url())
	}
	if active > 0 {
		g.log.Info("draining: readiness fails, the listener closes, requests in flight may finish",
			"in_flight", active, "drain_timeout", g.o.DrainTimeout.String())
		if resp, err := c.Post(admin.url()+"/drain_listeners?graceful&skip_exit", "text/plain", nil); err != nil {
			g.log.Warn("envoy did not start draining", "error", err.Error())
		} else {
			resp.Body.Close()
		}
		deadline := start.Add(g.o.DrainTimeout)
		for active > 0 && time.Now().Before(deadline) {
			select {
			case <-proc.Done():
				active = 0
				continue
			case <-time.After(100 * time.Millisecond):
			}
			if n := activeRequests(c, admin.url()); n >= 0 {
				active = n
			}
		}
		if active > 0 {
			g.log.Warn("drain timeout: requests still in flight are cut", "in_flight", active, "drain_timeout", g.o.DrainTimeout.String())
		}
	}
	// The module ships its outcome records every 20 ms and keeps them until
	// acknowledged: the last answers' records come in before Envoy stops
	// (D63).
	if g.module != nil {
		g.ext.WaitModuleOutcomes(2 * time.Second)
	}
	// /quitquitquit stops Envoy without the warning its SIGTERM handler
	// logs ("caught ENVOY_SIGTERM"): a clean shutdown logs no warning.
	if resp, err := c.Post(admin.url()+"/quitquitquit", "text/plain", nil); err == nil {
		resp.Body.Close()
		select {
		case <-proc.Done():
		case <-time.After(5 * time.Second):
		}
	}
	proc.Stop(5 * time.Second)
	g.log.Info("stopped", "drained_for", time.Since(start).Round(time.Millisecond).String())
}

// activeRequests is the number of client requests Envoy is serving (the
// gateway listener's downstream_rq_active; the admin interface's own are not
// counted); -1 when the admin interface does not answer.
func activeRequests(c *http.Client, base string) int {
	resp, err := c.Get(base + "/stats?filter=downstream_rq_active$")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return -1
	}
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok || !strings.HasPrefix(name, "http.") || strings.HasPrefix(name, "http.admin.") {
			continue
		}
		x, err := strconv.Atoi(strings.TrimSpace(v))
		if err == nil {
			n += x
		}
	}
	return n
}

// listenerActive reports whether Envoy serves the gateway listener (Envoy's
// /ready turns 200 even when the listener was rejected, e.g. a busy port).
func listenerActive(c *http.Client, base string) bool {
	resp, err := c.Get(base + "/listeners")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), xds.ListenerName+"::") {
			return true
		}
	}
	return false
}
