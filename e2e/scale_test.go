package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// scaleConfig is n deployments on the fake provider, ten to a model group
// (g0 … g<n/10-1>), each under its own path; moved puts one deployment on a
// new path, added adds a one-deployment group "added".
func scaleConfig(fake string, n, moved int, added bool) string {
	var b strings.Builder
	b.Grow(n * 120)
	b.WriteString("model_list:\n")
	for i := 0; i < n; i++ {
		path := fmt.Sprintf("d%d", i)
		if i == moved {
			path += "-moved"
		}
		fmt.Fprintf(&b, "  - model_name: g%d\n    litellm_params: {model: openai/gpt-4o, api_base: %s/%s/v1, api_key: k}\n", i/10, fake, path)
	}
	if added {
		fmt.Fprintf(&b, "  - model_name: added\n    litellm_params: {model: openai/gpt-4o, api_base: %s/added/v1, api_key: k}\n", fake)
	}
	fmt.Fprintf(&b, "general_settings:\n  master_key: %s\n", master)
	return b.String()
}

// envoyGauge reads one stat of the gateway's Envoy from its admin interface.
func envoyGauge(t *testing.T, g *Gateway, name string) int {
	t.Helper()
	c, base := adminClient(t, g)
	resp, err := c.Get(base + "/stats?filter=^" + name + "$")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_, v, ok := strings.Cut(strings.TrimSpace(string(b)), ": ")
	n, err := strconv.Atoi(v)
	if !ok || err != nil {
		t.Fatalf("stat %s: %q", name, b)
	}
	return n
}

// TestManyDeployments (D48, D62): a config of 10,000 deployments reaches
// Envoy over delta xDS — in ext_proc mode every deployment cluster is there,
// in module mode (the default) the one cluster of their upstream host — and
// requests route to the first and the last model group; a reload that moves
// one deployment and adds a group travels as that change: the new group
// serves, the reload's union push is acknowledged (no "did not acknowledge"
// warning: over delta xDS nothing is sent for an unchanged type, so the
// control plane must count ACKs per type), and in ext_proc mode the moved
// deployment's old cluster is dropped afterwards. How long any of this takes
// is make bench's figure (docs/benchmarks.md), not asserted here; make bench
// pushes 10,000 deployments through the same server and bootstrap to a real
// Envoy.
func TestManyDeployments(t *testing.T) {
	for _, mode := range []string{"module", "extproc"} {
		t.Run(mode, func(t *testing.T) { manyDeployments(t, mode) })
	}
}

func manyDeployments(t *testing.T, mode string) {
	const n = 10000
	fake := fakeprovider.StartT(t, fakeprovider.Options{NoRecord: true})
	g := newGateway(t, scaleConfig(fake.URL(), n, -1, false), []string{"--request-filter=" + mode})
	g.readyWithin = 3 * time.Minute // thousands of clusters on a shared 2-core machine
	g.launch(t)

	// One cluster per deployment (ext_proc mode) or one for their host
	// (module mode), beside the few of the gateway itself (control plane,
	// ext_proc, the client-side credentials' two (D156), the realtime
	// route's, …).
	clusters := n
	if mode == "module" {
		clusters = 1
	}
	before := envoyGauge(t, g, "cluster_manager.active_clusters")
	if own := before - clusters; own < 1 || own > 8 {
		t.Fatalf("Envoy has %d clusters for %d deployments", before, n)
	}
	for _, group := range []string{"g0", fmt.Sprintf("g%d", n/10-1)} {
		code, h, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"`+group+`","messages":[{"role":"user","content":"x"}]}`)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", group, code, b)
		}
		if base := h.Get("x-litellm-model-api-base"); !strings.Contains(base, fake.URL()+"/d") {
			t.Fatalf("%s served by %q", group, base)
		}
	}

	g.WriteConfig(scaleConfig(fake.URL(), n, 5, true))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, h, _ := post(t, g.URL+"/v1/chat/completions", master, `{"model":"added","messages":[{"role":"user","content":"x"}]}`)
		if code == http.StatusOK && strings.Contains(h.Get("x-litellm-model-api-base"), "/added/") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the added group does not serve 2 minutes after the reload (last status %d):\n%s", code, g.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(g.Stderr(), "did not acknowledge") {
		t.Fatalf("the reload's push was not acknowledged:\n%s", g.Stderr())
	}
	// The old cluster of the moved deployment is dropped (D5, two seconds
	// after the switch): the deployment clusters are the new config's (in
	// module mode still the one host's).
	want := before + 1
	if mode == "module" {
		want = before
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		got := envoyGauge(t, g, "cluster_manager.active_clusters")
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Envoy has %d clusters after the reload, want %d", got, want)
		}
	}
}
