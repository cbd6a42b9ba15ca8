package e2e

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

func redisConfig(fake, redisAddr string) string {
	host, port, _ := net.SplitHostPort(redisAddr)
	return fmt.Sprintf(`
model_list:
  - model_name: limited
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/limited/v1, api_key: k, rpm: 10}
  - model_name: shared
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/sh-a/v1, api_key: k}
  - model_name: shared
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/sh-b/v1, api_key: k}
  - model_name: shared2
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/s2-a/v1, api_key: k}
  - model_name: shared2
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/s2-b/v1, api_key: k}
router_settings:
  routing_strategy: usage-based-routing-v2
  redis_host: %[3]s
  redis_port: %[4]s
  num_retries: 1
general_settings:
  master_key: %[2]s
`, fake, master, host, port)
}

// TestRouterSharedRedis: two llmgate instances sharing one Redis behave as
// one — a deployment's rpm holds across both, and a cooldown triggered
// through one keeps the other off the deployment. With Redis stopped both
// keep serving from local state (logged once); with Redis back, sharing
// resumes.
func TestRouterSharedRedis(t *testing.T) {
	rd := redistest.StartServer(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := redisConfig(fake.URL(), rd.Addr())
	ga := startGateway(t, cfg)
	gb := startGateway(t, cfg)

	t.Run("rpm limit holds across two instances", func(t *testing.T) {
		fake.Reset()
		// rpm counts per UTC minute: start with more than 20 s left in it.
		waitForMinuteLeft(20 * time.Second)
		minute := time.Now().UTC().Truncate(time.Minute)
		body := func(i int) string { return chatBody("limited", "limited "+strconv.Itoa(i)) }
		var ra, rb []reply
		done := make(chan struct{})
		go func() { ra = sendMany(ga.URL, 15, 3, body); close(done) }()
		rb = sendMany(gb.URL, 15, 3, body)
		<-done
		if time.Now().UTC().Truncate(time.Minute) != minute {
			t.Fatalf("the run crossed a UTC minute boundary; cannot judge the rpm limit")
		}
		ok, limited := 0, 0
		for i, r := range append(ra, rb...) {
			switch {
			case r.err != nil:
				t.Errorf("request %d: %v", i, r.err)
			case r.code == 200:
				ok++
			case r.code == 429:
				limited++
				if r.hdr.Get("retry-after") == "" {
					t.Errorf("429 without retry-after: %v", r.hdr)
				}
				assertOpenAIError(t, r.code, r.body, 429, "")
			default:
				t.Errorf("request %d: %s, want 200 or 429", i, r)
			}
		}
		if got := fake.Count("/limited/"); got > 10 {
			t.Errorf("the deployment with rpm: 10 received %d requests in one minute through two instances", got)
		}
		if ok != 10 || fake.Count("/limited/") != 10 {
			t.Errorf("%d requests served, %d reached the provider; want exactly 10 (rpm: 10, 30 sent)", ok, fake.Count("/limited/"))
		}
		if limited != 30-ok {
			t.Errorf("%d of the %d refused requests were 429s", limited, 30-ok)
		}
		t.Logf("instance A served %d, instance B served %d", countOK(ra), countOK(rb))
	})

	t.Run("cooldown through instance A keeps instance B off the deployment", func(t *testing.T) {
		coolThroughA(t, fake, ga, gb, "shared", "/sh-a/")
		rs := sendMany(gb.URL, 20, 4, func(i int) string { return chatBody("shared", "b "+strconv.Itoa(i)) })
		requireAllOK(t, "instance B", rs)
		if got := fake.Count("/sh-a/"); got != 1 {
			t.Errorf("instance B sent %d requests to the deployment instance A cooled down", got-1)
		}
	})

	t.Run("redis stopped: both instances keep serving from local state", func(t *testing.T) {
		// A Redis call that timed out under load before the stop is logged
		// too (then "reachable again"): count from here.
		marks := map[*Gateway]int{ga: logMark(ga), gb: logMark(gb)}
		rd.Stop()
		fake.Reset()
		for round := range 3 {
			for _, g := range []*Gateway{ga, gb} {
				rs := sendMany(g.URL, 10, 2, func(i int) string { return chatBody("shared2", fmt.Sprintf("down %d %d", round, i)) })
				requireAllOK(t, "with redis down", rs)
			}
			time.Sleep(600 * time.Millisecond) // past the store's retry interval: Redis is tried again
		}
		for name, g := range map[string]*Gateway{"A": ga, "B": gb} {
			select {
			case <-g.done:
				t.Fatalf("instance %s exited with redis down:\n%s", name, g.Logs())
			default:
			}
			// Once since the stop, or still down since just before it.
			all := g.Stderr()
			n := strings.Count(all[marks[g]:], "redis unreachable")
			down := strings.LastIndex(all, "redis unreachable") > strings.LastIndex(all, "redis reachable again")
			if n > 1 || !down {
				t.Errorf("instance %s logged \"redis unreachable\" %d times since Redis stopped (down now: %v), want once", name, n, down)
			}
		}
	})

	t.Run("redis back: sharing resumes", func(t *testing.T) {
		rd.Restart()
		time.Sleep(1500 * time.Millisecond) // the store's retry interval is 1 s
		for _, g := range []*Gateway{ga, gb} {
			requireAllOK(t, "after redis restart", sendMany(g.URL, 4, 2, func(i int) string { return chatBody("shared2", "wake "+strconv.Itoa(i)) }))
		}
		for name, g := range map[string]*Gateway{"A": ga, "B": gb} {
			if !strings.Contains(g.Stderr(), "redis reachable again") {
				t.Errorf("instance %s did not log that redis is back", name)
			}
		}
		coolThroughA(t, fake, ga, gb, "shared2", "/s2-a/")
		rs := sendMany(gb.URL, 20, 4, func(i int) string { return chatBody("shared2", "b again "+strconv.Itoa(i)) })
		requireAllOK(t, "instance B after redis restart", rs)
		if got := fake.Count("/s2-a/"); got != 1 {
			t.Errorf("after redis came back, instance B sent %d requests to the deployment instance A cooled down", got-1)
		}
	})
}

// coolThroughA is coolThrough with Retry-After: 30.
func coolThroughA(t *testing.T, fake *fakeprovider.Server, g, b *Gateway, group, prefix string) {
	t.Helper()
	coolThrough(t, fake, g, b, group, prefix, "30")
}

func countOK(rs []reply) int {
	n := 0
	for _, r := range rs {
		if r.err == nil && r.code == 200 {
			n++
		}
	}
	return n
}
