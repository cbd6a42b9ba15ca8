package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

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
	needEnvoy(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
model_list:
  - model_name: cw
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cw/v1, api_key: k}
  - model_name: cw-big
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cw-big/v1, api_key: k}
router_settings:
  context_window_fallbacks: [{"cw": ["cw-big"]}]
`, fake.URL())), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/cw/"},
		Fault: fakeprovider.Fault{ErrorMessage: "This model's maximum context length is 10 tokens. However, your messages resulted in 25 tokens."}}))

	replicaA, replicaB := freePort(t), freePort(t)
	lbPort, lbAdmin := freePort(t), freePort(t)
	xdsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	port := freePort(t)
	start := func(args ...string) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	}
	start(llmgateBin, "controlplane", "--config", cfgPath, "--listen", xdsAddr,
		"--extproc-address", fmt.Sprintf("127.0.0.1:%d", lbPort), "--host", "127.0.0.1", "--port", fmt.Sprint(port))
	for _, p := range []int{replicaA, replicaB} {
		start(llmgateBin, "extproc", "--xds-address", xdsAddr, "--listen", fmt.Sprintf("127.0.0.1:%d", p))
	}
	lbPath := filepath.Join(dir, "lb.yaml")
	must(t, os.WriteFile(lbPath, []byte(fmt.Sprintf(grpcBalancerBootstrap, lbAdmin, lbPort, replicaA, replicaB)), 0o600))
	start(envoyBin, "--config-path", lbPath, "--base-id", fmt.Sprint(lbPort), "--log-level", "warn", "--concurrency", "1")
	boot, err := exec.Command(llmgateBin, "bootstrap", "--xds-address", xdsAddr, "--admin-port", "0").Output()
	if err != nil {
		t.Fatal(err)
	}
	bootPath := filepath.Join(dir, "bootstrap.json")
	must(t, os.WriteFile(bootPath, boot, 0o600))
	start(envoyBin, "--config-path", bootPath, "--base-id", fmt.Sprint(port), "--log-level", "warn", "--concurrency", "1")

	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	// Ready when both replicas answer: the balancer alternates between them,
	// so several readiness answers in a row have come from each one (a
	// replica still starting, or still without its routing table, breaks
	// the run and it starts over).
	for deadline, inARow := time.Now().Add(30*time.Second), 0; inARow < 8; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url + "/health/readiness")
		if err == nil {
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == 200 {
			inARow++
		} else {
			inARow = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("split gateway not ready: %v", err)
		}
	}
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
