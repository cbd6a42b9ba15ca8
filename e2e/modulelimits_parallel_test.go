package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
)

// Deployments' max_parallel_requests and least-busy served by the module
// (docs/architecture.md D77).

// holdingProvider answers OpenAI chat completions once the test lets it,
// and counts the calls in flight per deployment (the path's first segment).
type holdingProvider struct {
	srv  *httptest.Server
	mu   sync.Mutex
	open bool
	now  map[string]int // in flight
	peak map[string]int
	all  map[string]int // calls
}

func startHoldingProvider(t *testing.T) *holdingProvider {
	p := &holdingProvider{now: map[string]int{}, peak: map[string]int{}, all: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dep, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		p.mu.Lock()
		p.now[dep]++
		p.all[dep]++
		p.peak[dep] = max(p.peak[dep], p.now[dep])
		deadline := time.Now().Add(20 * time.Second)
		for !p.open && time.Now().Before(deadline) {
			p.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			p.mu.Lock()
		}
		p.now[dep]--
		p.mu.Unlock()
		w.Header().Set("content-type", "application/json")
		fmt.Fprint(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	t.Cleanup(func() { p.release(); p.srv.Close() })
	return p
}

// hold makes the provider hold its answers (release lets them go).
func (p *holdingProvider) hold() {
	p.mu.Lock()
	p.open = false
	p.mu.Unlock()
}

func (p *holdingProvider) release() {
	p.mu.Lock()
	p.open = true
	p.mu.Unlock()
}

// waitFor waits until ok holds of the calls so far and those in flight
// (false: not in 10 s).
func (p *holdingProvider) waitFor(ok func(all, now map[string]int) bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		done := ok(p.all, p.now)
		p.mu.Unlock()
		if done {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// waitCalls waits until n calls in all reached the provider.
func (p *holdingProvider) waitCalls(n int) bool {
	return p.waitFor(func(all, _ map[string]int) bool { return sum(all) >= n })
}

// waitIdle waits until nothing is in flight at the provider.
func (p *holdingProvider) waitIdle() {
	p.waitFor(func(_, now map[string]int) bool { return sum(now) == 0 })
}

func (p *holdingProvider) counts() (all, peak map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	all, peak = map[string]int{}, map[string]int{}
	for k, v := range p.all {
		all[k] = v
	}
	for k, v := range p.peak {
		peak[k] = v
	}
	return all, peak
}

func (p *holdingProvider) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.all, p.peak = map[string]int{}, map[string]int{}
}

// parallelConfig: par-a (max_parallel_requests: 2) falls back to spare;
// solo-a (max_parallel_requests: 2) has no fallback; busy-x and busy-y
// share a group; least-busy routing.
func parallelConfig(url string) string {
	return "model_list:\n" + modelEntry(url, "par", "par-a", "max_parallel_requests: 2") + modelEntry(url, "spare", "spare", "") +
		modelEntry(url, "solo", "solo-a", "max_parallel_requests: 2") + modelEntry(url, "busy", "busy-x", "") + modelEntry(url, "busy", "busy-y", "") +
		fmt.Sprintf(`router_settings:
  routing_strategy: least-busy
  num_retries: 0
  fallbacks: [{"par": ["spare"]}]
general_settings:
  master_key: %s
`, master)
}

// TestModuleParallelLimits (D77): a deployment's max_parallel_requests and
// the least-busy strategy are served by the module (no request-filter
// stream): the provider never has more than the limit in flight on the
// limited deployment, the requests over it fall back to the fallback group
// or are 429s in OpenAI form with retry-after, the slots come back when the
// answers end, and least-busy sends each request to the deployment with the
// fewest in flight. Before D77 the module handed all of it to ext_proc.
func TestModuleParallelLimits(t *testing.T) {
	p := startHoldingProvider(t)
	g := startGateway(t, parallelConfig(p.srv.URL))
	waitLog(t, g, "llmgate module: config")
	client := newClient(g, master)

	type result struct {
		err error
	}
	// fire sends n held requests for group, one after the other has
	// reached the provider (or was answered), and returns their results
	// once the provider lets them go.
	// (handOn(i): request i carries metadata, which the module hands to
	// the ext_proc filter.)
	fireMixed := func(group string, n int, handOn func(int) bool) (results []error, served int) {
		t.Helper()
		p.reset()
		p.hold()
		before := requestFilterStreams(t, g)
		out := make(chan result, n)
		arrived := 0
		answered := 0
		var errs []error
		for i := range n {
			params := openai.ChatCompletionNewParams{
				Model:    group,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("par " + strconv.Itoa(i))},
			}
			if handOn != nil && handOn(i) {
				params.Metadata = map[string]string{"via": "ext_proc"}
			}
			go func() {
				_, err := client.Chat.Completions.New(context.Background(), params)
				out <- result{err}
			}()
			// Wait until this request is at the provider or answered.
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				all, _ := p.counts()
				if n := sum(all); n > arrived {
					arrived = n
					break
				}
				select {
				case r := <-out:
					answered++
					errs = append(errs, r.err)
				default:
					time.Sleep(5 * time.Millisecond)
					continue
				}
				break
			}
		}
		p.release()
		for answered < n {
			r := <-out
			answered++
			errs = append(errs, r.err)
		}
		p.waitIdle()
		return errs, n - (requestFilterStreams(t, g) - before)
	}
	fire := func(group string, n int) ([]error, int) { return fireMixed(group, n, nil) }
	tally := func(errs []error) (ok, limited int) {
		t.Helper()
		for _, err := range errs {
			var apiErr *openai.Error
			switch {
			case err == nil:
				ok++
			case errors.As(err, &apiErr) && apiErr.StatusCode == 429 && apiErr.Response.Header.Get("retry-after") != "" && apiErr.Message != "":
				limited++
			default:
				t.Errorf("neither 200 nor a 429 with retry-after in OpenAI form: %v", err)
			}
		}
		return ok, limited
	}

	t.Run("over the limit: 429", func(t *testing.T) {
		errs, served := fire("solo", 5)
		ok, limited := tally(errs)
		all, peak := p.counts()
		if peak["solo-a"] > 2 {
			t.Errorf("max_parallel_requests: 2: the provider had %d in flight", peak["solo-a"])
		}
		if ok != 2 || limited != 3 || all["solo-a"] != 2 {
			t.Errorf("5 held requests on max_parallel_requests: 2: %d answered 200, %d 429, %d reached the provider; want 2, 3, 2", ok, limited, all["solo-a"])
		}
		if served != 5 {
			t.Errorf("the module served %d of 5 requests (the others took the ext_proc path), want 5", served)
		}
	})
	t.Run("the slots come back", func(t *testing.T) {
		errs, served := fire("solo", 2)
		if ok, _ := tally(errs); ok != 2 {
			t.Errorf("after the held answers ended: %d of 2 answered 200 (a slot leaked)", ok)
		}
		if served != 2 {
			t.Errorf("the module served %d of 2 requests, want 2", served)
		}
	})
	t.Run("one count per try on both paths", func(t *testing.T) {
		// A request the ext_proc filter plans (held), one the module plans
		// (held): both reach the provider (neither path counts a try
		// twice); then one of each is over the limit.
		errs, served := fireMixed("solo", 4, func(i int) bool { return i == 0 || i == 3 })
		ok, limited := tally(errs)
		all, peak := p.counts()
		if peak["solo-a"] > 2 || ok != 2 || limited != 2 || all["solo-a"] != 2 {
			t.Errorf("2 held requests (one per path), then one more per path: peak %d in flight, %d answered 200, %d 429, %d reached the provider; want 2, 2, 2, 2",
				peak["solo-a"], ok, limited, all["solo-a"])
		}
		if served != 2 {
			t.Errorf("the module served %d of 4 requests, want the 2 without metadata", served)
		}
	})
	t.Run("over the limit: fallback", func(t *testing.T) {
		errs, served := fire("par", 5)
		ok, _ := tally(errs)
		all, peak := p.counts()
		if peak["par-a"] > 2 {
			t.Errorf("max_parallel_requests: 2: the provider had %d in flight", peak["par-a"])
		}
		if ok != 5 || all["par-a"] != 2 || all["spare"] != 3 {
			t.Errorf("5 held requests: %d answered 200, par-a got %d, spare %d; want 5, 2, 3", ok, all["par-a"], all["spare"])
		}
		if served != 5 {
			t.Errorf("the module served %d of 5 requests, want 5", served)
		}
	})
	t.Run("least-busy", func(t *testing.T) {
		// Ten held requests, each sent once the one before is at the
		// provider: least-busy sends each to the deployment with fewer in
		// flight, so the two never differ by more than one.
		p.reset()
		p.hold()
		before := requestFilterStreams(t, g)
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model:    "busy",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("busy " + strconv.Itoa(i))},
				})
				if err != nil {
					t.Errorf("least-busy request %d: %v", i, err)
				}
			}()
			if !p.waitCalls(i + 1) {
				t.Fatalf("request %d never reached the provider", i)
			}
			all, _ := p.counts()
			if d := all["busy-x"] - all["busy-y"]; d > 1 || d < -1 {
				t.Errorf("after %d held requests: busy-x %d, busy-y %d in flight; least-busy keeps them within one", i+1, all["busy-x"], all["busy-y"])
			}
		}
		p.release()
		wg.Wait()
		if served := 10 - (requestFilterStreams(t, g) - before); served != 10 {
			t.Errorf("the module served %d of 10 least-busy requests, want 10", served)
		}
	})
}
