package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// SoakDurationEnv sets the length of TestSoakOneFailingDeployment (a Go
// duration). Unset: about a minute, as part of `make test`; `make soak`
// runs it for longer.
const SoakDurationEnv = "LLMGATE_SOAK_DURATION"

// soakPhase is what the failing deployment does for a while.
type soakPhase struct {
	name  string
	fault *fakeprovider.Fault // nil: no fault rule
	down  bool                // the provider process is stopped
}

var soakPhases = []soakPhase{
	{name: "500", fault: &fakeprovider.Fault{Status: 500}},
	{name: "reset", fault: &fakeprovider.Fault{Reset: fakeprovider.ResetBefore}},
	{name: "reset after headers", fault: &fakeprovider.Fault{Reset: fakeprovider.ResetAfterHeaders}},
	{name: "429", fault: &fakeprovider.Fault{Status: 429, RetryAfter: "1"}},
	{name: "slow", fault: &fakeprovider.Fault{Delay: 800 * time.Millisecond}},
	{name: "hang past timeout", fault: &fakeprovider.Fault{Delay: 4 * time.Second}},
	{name: "503", fault: &fakeprovider.Fault{Status: 503}},
	{name: "killed", down: true},
	{name: "restarted"},
}

// restartable is a fake provider that can be killed and started again on
// the same address; its request count survives restarts.
type restartable struct {
	mu    sync.Mutex
	addr  string
	srv   *fakeprovider.Server
	count int64 // requests served by earlier instances
}

func (r *restartable) start(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		return
	}
	s := fakeprovider.New(fakeprovider.Options{Latency: soakLatency, NoRecord: true})
	var err error
	for range 50 { // the port can take a moment to be free again
		if err = s.Start(r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("restart the failing provider: %v", err)
	}
	r.addr = strings.TrimPrefix(s.URL(), "http://")
	r.srv = s
}

func (r *restartable) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.count += r.srv.Count("")
		r.srv.Close()
		r.srv = nil
	}
}

func (r *restartable) requests() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.count
	if r.srv != nil {
		n += r.srv.Count("")
	}
	return n
}

func (r *restartable) setFault(t *testing.T, f *fakeprovider.Fault) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv == nil {
		return
	}
	r.srv.ClearRules()
	if f != nil {
		must(t, r.srv.AddRule(fakeprovider.Rule{Fault: *f}))
	}
}

// soakLatency is every provider's answer time: real models are slow, and
// slow answers keep retries in flight.
const soakLatency = 250 * time.Millisecond

// TestSoakOneFailingDeployment: a model group of three deployments, one of
// which goes through every failure in turn (5xx, connection resets before and
// after the response headers, 429 with Retry-After, slow answers, answers slower than its timeout, the process
// killed and restarted), under an open-loop load of 80 requests/s. Not one
// client request may fail: Envoy's default circuit breaker (3 concurrent
// retries per cluster) used to turn these retries into
// upstream_rq_retry_overflow errors (docs/architecture.md, D15).
func TestSoakOneFailingDeployment(t *testing.T) {
	duration := 60 * time.Second
	if v := os.Getenv(SoakDurationEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Second {
			t.Fatalf("%s=%q: want a Go duration of at least 10s", SoakDurationEnv, v)
		}
		duration = d
	}
	const rps = 80
	good := fakeprovider.StartT(t, fakeprovider.Options{Latency: soakLatency, NoRecord: true})
	bad := &restartable{addr: "127.0.0.1:0"}
	bad.start(t)
	t.Cleanup(bad.stop)
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: soak
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good-a/v1, api_key: k}
  - model_name: soak
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good-b/v1, api_key: k}
  - model_name: soak
    litellm_params: {model: openai/gpt-4o, api_base: http://%[2]s/bad/v1, api_key: k, timeout: 2}
router_settings:
  num_retries: 2
  cooldown_time: 2
general_settings:
  master_key: %[3]s
`, good.URL(), bad.addr, master))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 400}}
	defer client.CloseIdleConnections()
	var (
		mu       sync.Mutex
		statuses = map[string]int{}
		failures []string
		sent     atomic.Int64
		wg       sync.WaitGroup
	)
	record := func(r reply) {
		mu.Lock()
		defer mu.Unlock()
		key := fmt.Sprint(r.code)
		switch {
		case r.err != nil:
			key = "transport error"
		case r.code == 200 && !strings.Contains(string(r.body), `"chat.completion"`):
			key = "200 without a completion"
		}
		statuses[key]++
		if key != "200" && len(failures) < 10 {
			failures = append(failures, r.String())
		}
	}
	one := func(i int64) {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/v1/chat/completions", strings.NewReader(chatBody("soak", fmt.Sprint("soak ", i))))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("authorization", "Bearer "+master)
		resp, err := client.Do(req)
		if err != nil {
			record(reply{err: err})
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		record(reply{code: resp.StatusCode, body: b, err: err})
	}

	// The load: one request every 1/rps seconds, whatever the answers do.
	stop := make(chan struct{})
	loadDone := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(loadDone)
		tick := time.NewTicker(time.Second / rps)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				wg.Add(1)
				go one(sent.Add(1))
			}
		}
	}()

	// The failing deployment walks through the phases, round after round.
	phaseLen := max(duration/time.Duration(2*len(soakPhases)), 3*time.Second)
	hits := map[string]int64{}
	for i := 0; time.Since(start) < duration; i++ {
		p := soakPhases[i%len(soakPhases)]
		before := bad.requests()
		switch {
		case p.down:
			bad.stop()
		default:
			bad.start(t)
			bad.setFault(t, p.fault)
		}
		time.Sleep(min(phaseLen, duration-time.Since(start)))
		hits[p.name] += bad.requests() - before
	}
	close(stop)
	<-loadDone
	elapsed := time.Since(start)
	wg.Wait()

	n := sent.Load()
	t.Logf("%d requests in %v (%.0f/s); statuses %v; requests reaching the failing deployment per phase %v",
		n, elapsed.Round(time.Second), float64(n)/elapsed.Seconds(), statuses, hits)
	if ok := statuses["200"]; int64(ok) != n {
		t.Errorf("%d of %d requests failed, want 0 client errors; first failures:\n%s", n-int64(ok), n, strings.Join(failures, "\n"))
	}
	if rate := float64(n) / elapsed.Seconds(); rate < 60 {
		t.Errorf("load was %.0f requests/s, want at least 60", rate)
	}
	// Each fault was met: the failing deployment received requests in it.
	var missed []string
	for _, p := range soakPhases {
		if p.fault != nil && hits[p.name] == 0 {
			missed = append(missed, p.name)
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Errorf("the failing deployment received no request during phases %v: the soak did not test them", missed)
	}
}
