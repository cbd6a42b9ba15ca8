package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// goodAndBadGateway starts a fake provider whose /bad paths answer status
// with msg, and a gateway on two of its deployments: good (group gpt-x,
// openai/gpt-4o) and bad (group badGroup, model badModel, badInfo appended
// to its model_info), then settings (YAML after the model list) and the
// general_settings: the master key, then general.
func goodAndBadGateway(t *testing.T, status int, msg, badGroup, badModel, badInfo, settings, general string) (*fakeprovider.Server, *Gateway) {
	t.Helper()
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad"}, Fault: fakeprovider.Fault{Status: status, ErrorMessage: msg}}); err != nil {
		t.Fatal(err)
	}
	return fake, startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good/v1, api_key: k}
    model_info: {id: good}
  - model_name: %[3]s
    litellm_params: {model: %[4]s, api_base: %[1]s/bad/v1, api_key: k}
    model_info: {id: bad%[5]s}%[6]s
general_settings:
  master_key: %[2]s%[7]s
`, fake.URL(), master, badGroup, badModel, badInfo, settings, general))
}

// TestBackgroundHealthChecks: with background_health_checks every second and
// one deployment of a two-deployment group failing at the provider, /health
// answers from the background run (the failing deployment unhealthy, its
// error given), litellm_deployment_state marks it, and the failed checks
// cool it down: client requests to the group are then all served by the
// healthy deployment, the failing one receiving none of them.
func TestBackgroundHealthChecks(t *testing.T) {
	fake, g := goodAndBadGateway(t, 500, "bad deployment down", "gpt-x", "openai/gpt-4o", ", health_check_timeout: 5", `
router_settings:
  allowed_fails: 1
  cooldown_time: 60
litellm_settings:
  callbacks: ["prometheus"]`, `
  background_health_checks: true
  health_check_interval: 1`)

	// Nothing but the background checks calls the deployments until the
	// first /health below. Two failed checks exceed allowed_fails: 1 and cool
	// the failing deployment down; wait for a third (the outcome of each is
	// reported before the next run starts).
	deadline := time.Now().Add(20 * time.Second)
	for fake.Count("/bad") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the background checks called the failing deployment %d times in 20 s of 1 s checks\n%s", fake.Count("/bad"), g.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// /health answers from the latest run: 20 answers cost no call to a
	// deployment (on demand, each would call both).
	before := fake.Count("/good")
	var h healthAnswer
	for i := 0; i < 20; i++ {
		h = getHealth(t, g)
	}
	if calls := fake.Count("/good") - before; calls >= 20 {
		t.Errorf("20 /health answers called the healthy deployment %d times: not answered from the background run", calls)
	}
	if len(h.Unhealthy) != 1 {
		t.Fatalf("/health = %s", h.Raw)
	}
	if h.Unhealthy[0].ID != "bad" || !strings.Contains(h.Unhealthy[0].Error, "bad deployment down") {
		t.Errorf("unhealthy = %+v", h.Unhealthy)
	}
	if len(h.Healthy) != 1 || h.Healthy[0].ID != "good" {
		t.Errorf("healthy = %+v", h.Healthy)
	}
	// The background checks feed litellm_deployment_state: 2 while the
	// deployment cools down (1 after a failure), 0 for the healthy one.
	_, _, mb := do(t, "GET", g.URL+"/metrics", master, "")
	var badState, goodState string
	for _, line := range strings.Split(string(mb), "\n") {
		if !strings.HasPrefix(line, "litellm_deployment_state{") {
			continue
		}
		v := line[strings.LastIndexByte(line, ' ')+1:]
		switch {
		case strings.Contains(line, `model_id="bad"`):
			badState = v
		case strings.Contains(line, `model_id="good"`):
			goodState = v
		}
	}
	if badState != "2" || goodState != "0" {
		t.Errorf("litellm_deployment_state bad=%q good=%q, want 2 and 0\n%s", badState, goodState, mb)
	}

	// Client requests: every one served, none reaching the failing deployment.
	const n = 12
	for i := 0; i < n; i++ {
		code, _, b := do(t, "POST", g.URL+"/v1/chat/completions", master, chatBody("gpt-x", fmt.Sprintf("client-%d", i)))
		if code != 200 {
			t.Fatalf("request %d: %d %s", i, code, b)
		}
	}
	toBad, toGood := 0, 0
	for _, r := range fake.Requests() {
		if !bytes.Contains(r.Body, []byte("client-")) {
			continue
		}
		switch {
		case strings.HasPrefix(r.Path, "/bad"):
			toBad++
		case strings.HasPrefix(r.Path, "/good"):
			toGood++
		}
	}
	if toBad != 0 || toGood != n {
		t.Errorf("client requests: %d to the failing deployment (want 0), %d to the healthy one (want %d)", toBad, toGood, n)
	}
}
