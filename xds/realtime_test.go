package xds

import (
	"fmt"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
)

// TestRealtimeClustersFlat (D164): the realtime sessions' clusters are two
// original-destination clusters (plain, TLS) whatever the number of
// OpenAI and Azure hosts — a cluster per host made a config of 10,000 hosts
// push in seconds — only those of the schemes in use, and none without a
// deployment that can serve a session. Both are HTTP/1.1 only with only the upstream codec in their
// filters; the TLS one checks the certificate against the session's
// :authority and offers only http/1.1.
func TestRealtimeClustersFlat(t *testing.T) {
	hosts := func(n int) string {
		var b strings.Builder
		b.WriteString("model_list:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - {model_name: g%d, litellm_params: {model: openai/gpt-4o-realtime-preview, api_key: k, api_base: \"http://10.1.%d.%d:8000/v1\"}}\n", i, i/200, 1+i%200)
			fmt.Fprintf(&b, "  - {model_name: a%d, litellm_params: {model: azure/rt, api_key: k, api_version: v, api_base: \"https://res%d.openai.azure.com\"}}\n", i, i)
		}
		return b.String()
	}
	realtimeClusters := func(src string) []*clusterv3.Cluster {
		t.Helper()
		cfg, err := config.Parse([]byte(src), "t.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		res, err := Build(cfg, Options{ListenAddress: "127.0.0.1", Port: 4000, ExtProcSocket: "/tmp/x.sock"})
		if err != nil {
			t.Fatal(err)
		}
		var out []*clusterv3.Cluster
		for _, c := range res.Clusters {
			if strings.Contains(c.Name, "realtime") {
				out = append(out, c)
			}
		}
		return out
	}
	for _, n := range []int{1, 50} {
		cs := realtimeClusters(hosts(n))
		if len(cs) != 2 || cs[0].Name != contract.RealtimePlainCluster || cs[1].Name != contract.RealtimeTLSCluster {
			var names []string
			for _, c := range cs {
				names = append(names, c.Name)
			}
			t.Fatalf("%d hosts of each: realtime clusters %v, want [%s %s]", n, names, contract.RealtimePlainCluster, contract.RealtimeTLSCluster)
		}
		for _, c := range cs {
			if c.GetType() != clusterv3.Cluster_ORIGINAL_DST || c.GetLbConfig() == nil ||
				c.GetOriginalDstLbConfig().GetMetadataKey().GetKey() != contract.ContextMetadataNamespace ||
				c.GetOriginalDstLbConfig().GetMetadataKey().GetPath()[0].GetKey() != contract.ClientSideDstKey {
				t.Errorf("%s: not an original-destination cluster on llmgate.ctx dst: %v", c.Name, c)
			}
			var po httpv3.HttpProtocolOptions
			if err := c.TypedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].UnmarshalTo(&po); err != nil {
				t.Fatal(err)
			}
			if po.GetExplicitHttpConfig().GetHttpProtocolOptions() == nil || len(po.HttpFilters) != 1 || po.HttpFilters[0].Name != "envoy.filters.http.upstream_codec" {
				t.Errorf("%s: want HTTP/1.1 with only the upstream codec: %v", c.Name, &po)
			}
			tls := c.Name == contract.RealtimeTLSCluster
			if tls != (c.TransportSocket != nil) {
				t.Errorf("%s: transport socket %v", c.Name, c.TransportSocket)
			}
			if !tls {
				continue
			}
			if hp := po.GetUpstreamHttpProtocolOptions(); !hp.GetAutoSni() || !hp.GetAutoSanValidation() || hp.GetOverrideAutoSniHeader() != "" {
				t.Errorf("%s: want auto_sni and auto_san_validation from :authority, got %v", c.Name, hp)
			}
			var tc tlsv3.UpstreamTlsContext
			if err := c.TransportSocket.GetTypedConfig().UnmarshalTo(&tc); err != nil {
				t.Fatal(err)
			}
			if alpn := tc.GetCommonTlsContext().GetAlpnProtocols(); len(alpn) != 1 || alpn[0] != "http/1.1" {
				t.Errorf("%s: ALPN %v, want [http/1.1]", c.Name, alpn)
			}
			if tc.GetCommonTlsContext().GetValidationContext().GetTrustedCa() == nil {
				t.Errorf("%s: the upstream's certificate is not verified", c.Name)
			}
		}
	}
	if cs := realtimeClusters("model_list: [{model_name: c, litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_key: k}}]\n"); len(cs) != 0 {
		t.Errorf("no OpenAI or Azure deployment: %d realtime clusters, want none", len(cs))
	}
	// Only the schemes in use (the TLS one loads the CA bundle).
	if cs := realtimeClusters("model_list: [{model_name: c, litellm_params: {model: openai/gpt-4o, api_key: k, api_base: \"http://10.0.0.1/v1\"}}]\n"); len(cs) != 1 || cs[0].Name != contract.RealtimePlainCluster {
		t.Errorf("only a plain http deployment: %d realtime clusters, want only %s", len(cs), contract.RealtimePlainCluster)
	}
}
