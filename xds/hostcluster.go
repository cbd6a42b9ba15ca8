package xds

import (
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/upstream"
)

// One cluster per upstream host in module mode (docs/architecture.md D62).
// With the module as every try's upstream filter (D55) a fast-path
// deployment's cluster is bare: endpoint, TLS, circuit breakers, outlier
// detection. Nothing in it is the deployment's but the outlier detection
// (statistics only: a single-host cluster never ejects into "no healthy
// upstream", D6) and its metadata, so every fast-path deployment of one
// upstream host (scheme, host, port: deployments that differ in their
// api_base's path, key, model or group) shares one cluster, and the
// deployment of a try is the plan's entry for the try's attempt number: the
// module's upstream filter (llmgate.ctx "d", x-envoy-attempt-count), the
// shared attempt filter (the request context's attempts) and the outcome
// log (the try's index) read it there. A config of 10,000 deployments on a
// handful of providers is a handful of clusters. Every other deployment
// (translated, wildcard, mock, with extra_headers or an api_base query)
// keeps its own cluster, as ext_proc mode, bring-your-own Envoy and the
// degraded mode keep theirs.

// HostClusters puts every fast-path deployment of m on its upstream host's
// cluster (model.Deployment.Cluster). The gateway (Build, in module mode)
// and the module (its own compile of the same config) both call it, so the
// plans name the clusters Envoy has.
func HostClusters(m *model.Model) {
	manyHosts(m) // above ManyHostsMin hosts: one cluster of them (D86)
	for _, d := range m.Deployments {
		if d.Cluster == ManyHostsCluster {
			continue
		}
		if name, ok := hostClusterName(d); ok {
			d.Cluster = name
		}
	}
}

// hostClusterName is the cluster of a fast-path deployment's upstream host.
func hostClusterName(d *model.Deployment) (string, bool) {
	if !FastPath(d) {
		return "", false
	}
	b, err := upstream.For(d.Config)
	if err != nil {
		return "", false
	}
	var sb strings.Builder
	sb.WriteString(contract.HostClusterPrefix)
	for _, r := range b.Host {
		// (no dot: Envoy's stats take a cluster's name up to its first dot)
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('_')
		}
	}
	sb.WriteByte('_')
	sb.WriteString(strconv.Itoa(int(b.Port)))
	if b.TLS {
		sb.WriteString("_tls")
	}
	return sb.String(), true
}

// asHostCluster makes a deployment's bare cluster its host's: no
// deployment in its metadata, no outlier detection (one deployment's
// failures must not show as another's).
func asHostCluster(c *clusterv3.Cluster) {
	c.OutlierDetection = nil
	c.Metadata = &corev3.Metadata{FilterMetadata: map[string]*structpbStruct{
		"llmgate": structOf(map[string]any{"host": true, "fast_path": true}),
	}}
}
