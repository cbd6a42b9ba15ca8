package gateway

import (
	"io"
	"strings"
	"time"
)

// waitWarm waits (up to limit) until Envoy has no cluster warming. Envoy
// acknowledges a cluster update before a new cluster is usable: a fast-path
// cluster waits for its key over SDS (D45). A plan that names a warming
// cluster fails with cluster_not_found, so the request filter switches to a
// new config only once its clusters are active (D5). Without an admin
// interface (the split-mode control plane) it returns at once.
func (g *Gateway) waitWarm(limit time.Duration) {
	if g.envoyStats == nil || g.envoyStats.admin == nil {
		return
	}
	a := g.envoyStats.admin
	if _, ok := a.address(); !ok {
		return
	}
	c := a.client()
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.Get(a.url() + "/stats?filter=^cluster_manager.warming_clusters$")
		if err != nil {
			return
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if !strings.Contains(string(b), "warming_clusters:") || strings.Contains(string(b), "warming_clusters: 0") {
			return
		}
		if time.Now().After(deadline) {
			g.log.Warn("envoy still warms clusters of the new config", "stats", strings.TrimSpace(string(b)))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
