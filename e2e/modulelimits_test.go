package e2e

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

// The Redis configs served by the module (docs/architecture.md D67).

// sharedCooldownConfig: simple-shuffle, no limits, cooldowns shared in Redis.
func sharedCooldownConfig(fake, redisAddr string) string {
	host, port, _ := net.SplitHostPort(redisAddr)
	return fmt.Sprintf(`
model_list:
  - model_name: shared
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/sh-a/v1, api_key: k}
    model_info: {id: sh-a}
  - model_name: shared
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/sh-b/v1, api_key: k}
    model_info: {id: sh-b}
router_settings:
  redis_host: %[3]s
  redis_port: %[4]s
  num_retries: 1
  cooldown_time: 3
general_settings:
  master_key: %[2]s
`, fake, master, host, port)
}

// TestModuleSharedCooldowns (D67, step 1): with Redis configured for shared
// cooldowns only, the module of each instance serves (no request-filter
// stream), and a cooldown started through instance A reaches instance B's
// module at once (Redis pub/sub): B's module does not pick the cooling
// deployment, and serves the group again once the cooldown ended. Before
// D67 the module handed every request on whenever Redis was configured.
func TestModuleSharedCooldowns(t *testing.T) {
	rd := redistest.StartServer(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := sharedCooldownConfig(fake.URL(), rd.Addr())
	ga := startGateway(t, cfg)
	gb := startGateway(t, cfg)
	waitLog(t, ga, "llmgate module: config")
	waitLog(t, gb, "llmgate module: config")

	served := func(g *Gateway, n int, what string) int {
		t.Helper()
		before := requestFilterStreams(t, g)
		rs := sendMany(g.URL, n, 2, func(i int) string { return chatBody("shared", what+" "+strconv.Itoa(i)) })
		requireAllOK(t, what, rs)
		return n - (requestFilterStreams(t, g) - before)
	}
	for name, g := range map[string]*Gateway{"A": ga, "B": gb} {
		if n := served(g, 6, "warm "+name); n != 6 {
			t.Fatalf("instance %s: the module served %d of 6 requests with Redis configured, want 6", name, n)
		}
	}

	// A 429 with Retry-After: 3 through A cools sh-a down for 3 s.
	coolThrough(t, fake, ga, "shared", "/sh-a/", "3")
	start := time.Now()
	rs := sendMany(gb.URL, 20, 4, func(i int) string { return chatBody("shared", "b "+strconv.Itoa(i)) })
	requireAllOK(t, "instance B", rs)
	if got := fake.Count("/sh-a/"); got != 1 {
		t.Errorf("instance B sent %d requests to the deployment instance A cooled down", got-1)
	}
	if time.Since(start) > 2500*time.Millisecond {
		t.Fatalf("instance B's 20 requests took %v: the cooldown may have ended meanwhile", time.Since(start))
	}

	// After the cooldown B's module serves the group again, on both deployments.
	time.Sleep(time.Until(start.Add(3500 * time.Millisecond)))
	fake.Reset()
	if n := served(gb, 10, "after"); n != 10 {
		t.Errorf("after the cooldown instance B's module served %d of 10 requests, want 10", n)
	}
	if fake.Count("/sh-a/") == 0 || fake.Count("/sh-b/") == 0 {
		t.Errorf("after the cooldown: sh-a %d, sh-b %d calls; want both used", fake.Count("/sh-a/"), fake.Count("/sh-b/"))
	}
}

// coolThrough is coolThroughA with the 429's Retry-After (seconds).
func coolThrough(t *testing.T, fake *fakeprovider.Server, g *Gateway, group, prefix, retryAfter string) {
	t.Helper()
	fake.Reset()
	fake.ClearRules()
	t.Cleanup(fake.ClearRules)
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: prefix}, Fault: fakeprovider.Fault{Status: 429, RetryAfter: retryAfter}, Times: 1}))
	var rs []reply
	for i := 0; i < 30 && fake.Count(prefix) == 0; i++ {
		rs = append(rs, send(g.URL, chatBody(group, "a "+strconv.Itoa(i))))
	}
	requireAllOK(t, "instance A", rs)
	if fake.Count(prefix) != 1 {
		t.Fatalf("%s got %d calls through instance A, want 1", prefix, fake.Count(prefix))
	}
	time.Sleep(100 * time.Millisecond) // the outcome is reported as the try ends
}
