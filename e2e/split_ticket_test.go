package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// grpcBalancerBootstrap is a plain Envoy that spreads HTTP/2 streams (one
// ext_proc stream each) round robin over two ext_proc replicas: the request
// filter's stream, the attempt filter's and the redirect replay's land on
// different replicas, as behind a Kubernetes Service.
const grpcBalancerBootstrap = `
admin: {address: {socket_address: {address: 127.0.0.1, port_value: %[1]d}}}
static_resources:
  listeners:
  - name: lb
    address: {socket_address: {address: 127.0.0.1, port_value: %[2]d}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: lb
          codec_type: HTTP2
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: replicas, timeout: 0s}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
  clusters:
  - name: replicas
    type: STATIC
    lb_policy: ROUND_ROBIN
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}
    load_assignment:
      cluster_name: replicas
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: %[3]d}}}
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: %[4]d}}}
`

// TestSplitModeTicketAcrossReplicas (issue 9 part 3): with two `llmgate
// extproc` replicas behind one Envoy, a context-window fallback — whose
// ticket one replica signs and another verifies on the redirect's replay —
// succeeds: the ticket key comes from the control plane's routing table, not
// from each process. No master_key here, so no replica can derive the key
// from the config: the table is the only way they agree.
func TestSplitModeTicketAcrossReplicas(t *testing.T) {
	s := newSplit(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfgPath := s.write("config.yaml", []byte(fmt.Sprintf(`
model_list:
  - model_name: cw
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cw/v1, api_key: k}
  - model_name: cw-big
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cw-big/v1, api_key: k}
router_settings:
  context_window_fallbacks: [{"cw": ["cw-big"]}]
`, fake.URL())))
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/cw/"},
		Fault: fakeprovider.Fault{ErrorMessage: "This model's maximum context length is 10 tokens. However, your messages resulted in 25 tokens."}}))

	replicaA, replicaB := freePort(t), freePort(t)
	lbPort, lbAdmin := freePort(t), freePort(t)
	s.start(os.Stderr, llmgateBin, "controlplane", "--config", cfgPath, "--listen", s.xdsAddr,
		"--extproc-address", fmt.Sprintf("127.0.0.1:%d", lbPort), "--host", "127.0.0.1", "--port", fmt.Sprint(s.port))
	for _, p := range []int{replicaA, replicaB} {
		s.start(os.Stderr, llmgateBin, "extproc", "--xds-address", s.xdsAddr, "--listen", fmt.Sprintf("127.0.0.1:%d", p))
	}
	s.startEnvoy(os.Stderr, s.write("lb.yaml", []byte(fmt.Sprintf(grpcBalancerBootstrap, lbAdmin, lbPort, replicaA, replicaB))), lbPort, 1)
	s.envoy(os.Stderr, 1)
	// Ready when both replicas answer: the balancer alternates between them,
	// so several readiness answers in a row have come from each one (a
	// replica still starting, or still without its routing table, breaks
	// the run and it starts over).
	s.waitReady("/health/readiness", 8)
	url := s.url
	// Each request takes four ext_proc streams (request, attempt, replay,
	// attempt); several requests in a row cover both orders of the replicas.
	for i := range 4 {
		r := send(url, chatBody("cw", "please answer"))
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.code != 200 || r.servedBy() != "/cw-big" {
			t.Fatalf("request %d: got %d from %q, want 200 from /cw-big (the fallback ticket of one replica refused by the other?); provider saw %v; body %s",
				i, r.code, r.servedBy(), fake.Counts(), r.body)
		}
	}
	// Both replicas served streams.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/clusters", lbAdmin))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, p := range []int{replicaA, replicaB} {
		m := regexp.MustCompile(`replicas::127\.0\.0\.1:` + strconv.Itoa(p) + `::rq_total::(\d+)`).FindSubmatch(b)
		if m == nil || string(m[1]) == "0" {
			t.Errorf("replica on port %d served no ext_proc stream: %s", p, b)
		}
	}
}
