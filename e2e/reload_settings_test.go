package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// adminClient talks to Envoy's admin interface at the address the log names
// (a Unix socket by default).
func adminClient(t *testing.T, g *Gateway) (*http.Client, string) {
	t.Helper()
	addr := adminFromLog(t, g)
	if sock, ok := strings.CutPrefix(addr, "unix:"); ok {
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}, "http://admin"
	}
	return &http.Client{Timeout: 5 * time.Second}, "http://" + addr
}

var clusterName = regexp.MustCompile(`(?m)^(dep_[A-Za-z0-9_-]+)::`)

// deploymentClusters lists the dep_* clusters Envoy has now.
func deploymentClusters(t *testing.T, c *http.Client, base string) []string {
	t.Helper()
	resp, err := c.Get(base + "/clusters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	seen := map[string]bool{}
	for _, m := range clusterName.FindAllStringSubmatch(string(b), -1) {
		seen[m[1]] = true
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func settingsConfig(fake, key, path string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: live
    litellm_params: {model: openai/gpt-4o, api_base: %s%s/v1, api_key: k}
general_settings:
  master_key: %s
`, fake, path, key)
}

// TestReloadSettingsOnly: a reload that changes only general_settings (no
// deployment, no Envoy resource) still takes effect: the new master_key is
// accepted and, from the first request it is accepted on, the old one is
// rejected.
func TestReloadSettingsOnly(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, settingsConfig(fake.URL(), master, "/live"))
	body := `{"model":"live","messages":[{"role":"user","content":"x"}]}`
	if code, _, b := post(t, g.URL+"/v1/chat/completions", master, body); code != 200 {
		t.Fatalf("before the reload: %d %s", code, b)
	}
	const rotated = "sk-rotated-master"
	g.WriteConfig(settingsConfig(fake.URL(), rotated, "/live"))
	switched := false
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if code, _, _ := post(t, g.URL+"/v1/chat/completions", rotated, body); code == 200 {
			switched = true
			break
		}
	}
	if !switched {
		t.Fatalf("the new master_key was never accepted:\n%s", g.Logs())
	}
	for i := range 20 {
		code, _, b := post(t, g.URL+"/v1/chat/completions", master, body)
		if code != 401 {
			t.Fatalf("request %d with the old master_key after the switch: %d %s, want 401", i, code, b)
		}
		if code, _, b := post(t, g.URL+"/v1/chat/completions", rotated, body); code != 200 {
			t.Fatalf("request %d with the new master_key: %d %s", i, code, b)
		}
	}
}

// TestReloadDropsRetiredClusters: a reload that replaces a deployment keeps
// the old cluster for a moment (attempts planned before the switch still
// reach it, D5), then drops it from Envoy.
func TestReloadDropsRetiredClusters(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	// The new deployment on another upstream host: in module mode the
	// fast-path deployments of one host share its cluster (D62).
	other := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, settingsConfig(fake.URL(), master, "/old"))
	c, base := adminClient(t, g)
	before := deploymentClusters(t, c, base)
	if len(before) != 1 {
		t.Fatalf("clusters before the reload: %v, want one dep_* cluster", before)
	}
	old := before[0]

	g.WriteConfig(settingsConfig(other.URL(), master, "/new"))
	body := `{"model":"live","messages":[{"role":"user","content":"x"}]}`
	served := false
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		_, h, _ := post(t, g.URL+"/v1/chat/completions", master, body)
		if strings.Contains(h.Get("x-litellm-model-api-base"), "/new") {
			served = true
			break
		}
	}
	if !served {
		t.Fatalf("the new deployment never served:\n%s", g.Logs())
	}
	// The old cluster goes two seconds after the switch (D5); allow for a
	// slow machine, but it must go.
	var now []string
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		now = deploymentClusters(t, c, base)
		gone := true
		for _, n := range now {
			if n == old {
				gone = false
			}
		}
		if gone && len(now) == 1 {
			break
		}
	}
	if len(now) != 1 || now[0] == old {
		t.Fatalf("clusters after the reload: %v; the retired %s should be dropped and one new cluster left:\n%s", now, old, g.Logs())
	}
	if code, _, b := post(t, g.URL+"/v1/chat/completions", master, body); code != 200 {
		t.Fatalf("after the drop: %d %s", code, b)
	}
}
