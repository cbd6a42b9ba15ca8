package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
	rd, fake, ga, gb := moduleGatewayPair(t, sharedCooldownConfig)

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
	// B's module has applied it when coolThrough returns (how fast pub/sub
	// brings it: store's TestWatchCooldowns); B's requests are checked until
	// the cooldown ends.
	until := coolThrough(t, fake, ga, gb, "shared", "/sh-a/", "3")
	rs, got := sendWhileCooling(t, until, 5, func(round int) []reply {
		return sendMany(gb.URL, 4, 4, func(i int) string { return chatBody("shared", fmt.Sprintf("b %d %d", round, i)) })
	}, func() int64 { return fake.Count("/sh-a/") })
	requireAllOK(t, "instance B", rs)
	if got != 1 {
		t.Errorf("instance B sent %d requests to the deployment instance A cooled down", got-1)
	}

	// After the cooldown B's module serves the group again, on both
	// deployments. The cooldown's end is read from Redis (it starts when the
	// 429's outcome is recorded, which a loaded host may delay past the
	// request's answer), so the wait does not guess it.
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr()})
	t.Cleanup(func() { _ = rc.Close() })
	endMs, err := rc.Get(context.Background(), "llmgate:cooldown:sh-a").Int64()
	if err != nil {
		t.Fatalf("the cooldown of sh-a is not in Redis: %v", err)
	}
	end := time.UnixMilli(endMs)
	if d := end.Sub(until); d > time.Millisecond || d < -time.Millisecond {
		t.Fatalf("the cooldown of sh-a ends at %s in Redis, at %s in instance A's log", end.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano))
	}
	time.Sleep(time.Until(end.Add(500 * time.Millisecond)))
	fake.Reset()
	if n := served(gb, 20, "after"); n != 20 {
		t.Errorf("after the cooldown instance B's module served %d of 20 requests, want 20", n)
	}
	if fake.Count("/sh-a/") == 0 || fake.Count("/sh-b/") == 0 {
		t.Errorf("after the cooldown: sh-a %d, sh-b %d calls; want both used", fake.Count("/sh-a/"), fake.Count("/sh-b/"))
	}
}

// moduleGatewayPair starts a Redis, a fake provider and two module-mode
// gateways on config(fake URL, Redis address), and waits until both
// modules applied it.
func moduleGatewayPair(t *testing.T, config func(fake, redisAddr string) string) (*redistest.Server, *fakeprovider.Server, *Gateway, *Gateway) {
	t.Helper()
	rd := redistest.StartServer(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := config(fake.URL(), rd.Addr())
	ga := startGateway(t, cfg)
	gb := startGateway(t, cfg)
	waitLog(t, ga, "llmgate module: config")
	waitLog(t, gb, "llmgate module: config")
	return rd, fake, ga, gb
}

// coolThrough makes the deployment at prefix answer one 429 with
// Retry-After: retryAfter (seconds) to a request through g, which cools it
// down (a 429 in a group of two, for the longer of cooldown_time and
// Retry-After). The fake's counters are reset first; on return the
// deployment has had exactly 1 call, g has cooled it down, and b's module
// (when b's requests are the module's) has applied the cooldown, heard from
// Redis. It returns the cooldown's end.
func coolThrough(t *testing.T, fake *fakeprovider.Server, g, b *Gateway, group, prefix, retryAfter string) time.Time {
	t.Helper()
	mark, markB := logMark(g), logMark(b)
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
	until := waitCooling(t, g, group, mark)
	waitModuleCooling(t, b, markB)
	return until
}

// limitsConfig: rpm leased by the module (rpm: 100, the smallest leased
// limit), usage-based-routing-v2 over three deployments, a tpm-limited one.
func limitsConfig(fake, redisAddr string, rpm int) string {
	redis := ""
	if redisAddr != "" {
		host, port, _ := net.SplitHostPort(redisAddr)
		redis = fmt.Sprintf("  redis_host: %s\n  redis_port: %s\n", host, port)
	}
	return "model_list:\n" + modelEntry(fake, "limited", "lim", fmt.Sprintf("rpm: %d", rpm)) +
		modelEntry(fake, "usage", "u-a", "tpm: 1000000") + modelEntry(fake, "usage", "u-b", "tpm: 1000000") + modelEntry(fake, "usage", "u-c", "tpm: 1000000") +
		fmt.Sprintf(`router_settings:
  routing_strategy: usage-based-routing-v2
  num_retries: 0
%sgeneral_settings:
  master_key: %s
`, redis, master)
}

// modelEntry is one model_list entry of the limit tests: an OpenAI
// deployment of group at <url>/<id>/v1 whose model_info id is id, with
// extra litellm_params ("": none; e.g. "rpm: 100").
func modelEntry(url, group, id, extra string) string {
	if extra != "" {
		extra = ", " + extra
	}
	return fmt.Sprintf("  - model_name: %s\n    litellm_params: {model: openai/gpt-4o, api_base: %s/%s/v1, api_key: k%s}\n    model_info: {id: %s}\n",
		group, url, id, extra, id)
}

// servedCount sends n requests through g (conc at a time) and returns the
// replies and how many the module served (no request-filter stream).
func servedCount(t *testing.T, g *Gateway, n, conc int, body func(i int) string) ([]reply, int) {
	t.Helper()
	before := requestFilterStreams(t, g)
	rs := sendMany(g.URL, n, conc, body)
	return rs, n - (requestFilterStreams(t, g) - before)
}

func usageTotal(t *testing.T, r reply) int64 {
	t.Helper()
	var b struct {
		Usage struct {
			Total int64 `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil || b.Usage.Total == 0 {
		t.Fatalf("no usage in %s", r.body)
	}
	return b.Usage.Total
}

// TestModuleLimitsRedis (D67, steps 2-3): two module-mode gateways on one
// real Redis serve deployments with rpm/tpm limits and usage-based-routing-v2
// from the gateway's leases and counter view: an rpm limit holds across
// both under concurrent load while the modules serve most requests;
// usage-based-routing-v2 picks the least-used deployment by the tpm in
// Redis; the tokens of every answer (JSON and streams) reach Redis exactly;
// with Redis stopped both keep serving from local state.
func TestModuleLimitsRedis(t *testing.T) {
	rd, fake, ga, gb := moduleGatewayPair(t, func(fake, rd string) string { return limitsConfig(fake, rd, 100) })
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr()})
	t.Cleanup(func() { _ = rc.Close() })
	ctx := context.Background()
	minuteKey := func(kind, id string) string {
		return "llmgate:" + kind + ":" + id + ":" + time.Now().UTC().Format("200601021504")
	}

	t.Run("rpm limit holds across two instances", func(t *testing.T) {
		fake.Reset()
		waitForMinuteLeft(30 * time.Second)
		minute := time.Now().UTC().Truncate(time.Minute)
		body := func(i int) string { return chatBody("limited", "limited "+strconv.Itoa(i)) }
		var ra, rb []reply
		var sa, sb int
		done := make(chan struct{})
		go func() { ra, sa = servedCount(t, ga, 80, 4, body); close(done) }()
		rb, sb = servedCount(t, gb, 80, 4, body)
		<-done
		if time.Now().UTC().Truncate(time.Minute) != minute {
			t.Fatalf("the run crossed a UTC minute boundary; cannot judge the rpm limit")
		}
		ok := 0
		for i, r := range append(ra, rb...) {
			switch {
			case r.err != nil:
				t.Errorf("request %d: %v", i, r.err)
			case r.code == 200:
				ok++
			case r.code == 429:
				assertOpenAIError(t, r.code, r.body, 429, "")
			default:
				t.Errorf("request %d: %s, want 200 or 429", i, r)
			}
		}
		got := int(fake.Count("/lim/"))
		if got > 100 || ok != got {
			t.Errorf("rpm: 100 across two instances: %d answered 200, %d reached the provider; want the same, at most 100", ok, got)
		}
		// Unused leases: at most one request per instance here (a lease is
		// at most limit/100, D67).
		if got < 96 {
			t.Errorf("only %d of 160 requests served under rpm: 100; want at least 96", got)
		}
		if sa+sb == 0 {
			t.Errorf("the modules served none of the limited requests (every one took the ext_proc path)")
		}
		t.Logf("served %d (module A %d, module B %d of 80 each); counter in Redis %s", got, sa, sb, rc.Get(ctx, minuteKey("rpm", "lim")).Val())
	})

	t.Run("usage-based-routing-v2 picks the least-used deployment", func(t *testing.T) {
		fake.Reset()
		waitForMinuteLeft(15 * time.Second)
		must(t, rc.Set(ctx, minuteKey("tpm", "u-a"), 5000, time.Minute).Err())
		must(t, rc.Set(ctx, minuteKey("tpm", "u-b"), 4000, time.Minute).Err())
		must(t, rc.Del(ctx, minuteKey("tpm", "u-c")).Err())
		time.Sleep(400 * time.Millisecond) // the view is read every 100 ms
		var sum int64
		for i := range 4 {
			rs, served := servedCount(t, ga, 1, 1, func(int) string { return chatBody("usage", "u "+strconv.Itoa(i)) })
			requireAllOK(t, "usage", rs)
			if served != 1 {
				t.Errorf("request %d: handed on, want it served by the module", i)
			}
			sum += usageTotal(t, rs[0])
		}
		// Streams with the usage chunk: their tokens count too.
		for i := range 2 {
			code, _, b := postWith(t, ga.URL+"/v1/chat/completions", master, chatBody("usage", "s "+strconv.Itoa(i), `"stream":true`, `"stream_options":{"include_usage":true}`))
			if code != 200 {
				t.Fatalf("stream: %d %s", code, b)
			}
			var last int64
			for _, ev := range sseEvents(b) {
				var c struct {
					Usage *struct {
						Total int64 `json:"total_tokens"`
					} `json:"usage"`
				}
				if json.Unmarshal([]byte(ev), &c) == nil && c.Usage != nil {
					last = c.Usage.Total
				}
			}
			if last == 0 {
				t.Fatalf("stream without a usage chunk: %s", b)
			}
			sum += last
		}
		if n := fake.Count("/u-c/"); n != 6 {
			t.Errorf("the least-used deployment got %d of 6 requests (u-a %d, u-b %d)", n, fake.Count("/u-a/"), fake.Count("/u-b/"))
		}
		// tpm from usage: every answer's tokens, exactly, in Redis.
		deadline := time.Now().Add(3 * time.Second)
		var tpm int64
		for time.Now().Before(deadline) {
			tpm, _ = rc.Get(ctx, minuteKey("tpm", "u-c")).Int64()
			if tpm == sum {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if tpm != sum {
			t.Errorf("tpm of u-c in Redis %d, want %d (the answers' total_tokens)", tpm, sum)
		}
		// Now u-b is the least used.
		must(t, rc.Set(ctx, minuteKey("tpm", "u-c"), 9000, time.Minute).Err())
		time.Sleep(400 * time.Millisecond)
		fake.Reset()
		requireAllOK(t, "usage", sendMany(gb.URL, 3, 1, func(i int) string { return chatBody("usage", "v "+strconv.Itoa(i)) }))
		if n := fake.Count("/u-b/"); n != 3 {
			t.Errorf("after u-c's usage rose, u-b got %d of 3 (u-a %d, u-c %d)", n, fake.Count("/u-a/"), fake.Count("/u-c/"))
		}
	})

	t.Run("redis stopped: both instances keep serving", func(t *testing.T) {
		// The limited deployment used its rpm in Redis this minute: until a
		// gateway reads its local counts instead (the store's fallback) its
		// module refuses it as at its limit (a 429, never another error);
		// after that it is served from local state, as LiteLLM's in-memory
		// fallback.
		rd.Stop()
		limitedOK := map[*Gateway]int{}
		for round := range 3 {
			for _, g := range []*Gateway{ga, gb} {
				requireAllOK(t, "usage with redis down", sendMany(g.URL, 10, 2, func(i int) string { return chatBody("usage", fmt.Sprintf("down %d %d", round, i)) }))
				for _, r := range sendMany(g.URL, 5, 2, func(i int) string { return chatBody("limited", fmt.Sprintf("down %d %d", round, i)) }) {
					switch {
					case r.err == nil && r.code == 200:
						limitedOK[g]++
					case r.err == nil && r.code == 429:
						assertOpenAIError(t, r.code, r.body, 429, "")
					default:
						t.Errorf("limited with redis down: %s, want 200 or 429", r)
					}
				}
			}
			time.Sleep(600 * time.Millisecond)
		}
		for name, g := range map[string]*Gateway{"A": ga, "B": gb} {
			if limitedOK[g] == 0 {
				t.Errorf("instance %s served no limited request from local state with redis down", name)
			}
			if n := strings.Count(g.Stderr(), "redis unreachable"); n != 1 {
				t.Errorf("instance %s logged \"redis unreachable\" %d times, want once", name, n)
			}
		}
	})
}

// TestModuleLimitsReload (D67): a reload that lowers a deployment's rpm
// takes effect in the module at once (its lease was taken under the old
// limit: a new window), and one that raises it serves again.
func TestModuleLimitsReload(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, limitsConfig(fake.URL(), "", 1000))
	waitLog(t, g, "llmgate module: config")
	waitForMinuteLeft(40 * time.Second)
	minute := time.Now().UTC().Truncate(time.Minute)
	body := func(i int) string { return chatBody("limited", "r "+strconv.Itoa(i)) }
	rs, served := servedCount(t, g, 60, 2, body)
	requireAllOK(t, "rpm: 1000", rs)
	if served == 0 {
		t.Errorf("the module served none of 60 requests under rpm: 1000")
	}
	reloadTo := func(rpm int) {
		t.Helper()
		g.WriteConfig(limitsConfig(fake.URL(), "", rpm))
		want := strconv.Itoa(rpm)
		for range 100 {
			r := send(g.URL, chatBody("usage", "probe"))
			_ = r
			lr := send(g.URL, chatBody("limited", "probe"))
			if lr.hdr.Get("x-ratelimit-limit-requests") == want || lr.code == 429 && rpm < 1000 {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("the reload to rpm: %d never took effect", rpm)
	}
	reloadTo(100)
	fake.Reset()
	time.Sleep(300 * time.Millisecond)
	after := sendMany(g.URL, 100, 2, body)
	if time.Now().UTC().Truncate(time.Minute) != minute {
		t.Fatalf("the run crossed a UTC minute boundary")
	}
	ok := countOK(after)
	// 60+ requests this minute already: under rpm: 100 at most 40 more.
	if ok > 40 || int(fake.Count("/lim/")) != ok {
		t.Errorf("after lowering rpm to 100: %d more served (%d reached the provider), want at most 40", ok, fake.Count("/lim/"))
	}
	reloadTo(5000)
	time.Sleep(300 * time.Millisecond)
	rs, served = servedCount(t, g, 40, 2, body)
	requireAllOK(t, "after raising rpm to 5000", rs)
	if served == 0 {
		t.Errorf("after raising the limit the module served none of 40")
	}
}
