package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// moduleLoad sends chat requests with key on c connections until stop is
// closed, and sums the answered (200) requests' x-litellm-response-cost:
// what a client was told it spent.
func moduleLoad(t *testing.T, url, key string, c int, stop <-chan struct{}) (sum func() (float64, int)) {
	t.Helper()
	var mu sync.Mutex
	var total float64
	var n int
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < c; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/chat/completions", strings.NewReader(chatBody("gpt-x", "spend under load")))
				req.Header.Set("content-type", "application/json")
				req.Header.Set("authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					cancel()
					time.Sleep(5 * time.Millisecond)
					continue
				}
				_, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				cancel()
				if rerr != nil || resp.StatusCode != 200 {
					continue
				}
				cost, err := strconv.ParseFloat(resp.Header.Get("x-litellm-response-cost"), 64)
				if err != nil || cost <= 0 {
					t.Errorf("an answer without x-litellm-response-cost: %v", resp.Header)
					continue
				}
				mu.Lock()
				total += cost
				n++
				mu.Unlock()
			}
		}()
	}
	return func() (float64, int) {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return total, n
	}
}

// moduleSpendSetup is the config (spend batches longer than the test: the
// spend comes through the write-ahead file and the final batch) and the data
// directory the crash tests of D63 restart the gateway on.
func moduleSpendSetup(t *testing.T) (cfg, dataDir string) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg = keysConfig(fake.URL(), "")
	cfg = cfg[:len(cfg)-len("  proxy_batch_write_at: 1\n")] + "  proxy_batch_write_at: 3600\n"
	return cfg, t.TempDir()
}

// moduleSpendRound starts the gateway in module mode on dataDir, issues a
// key, checks that the module serves it (no request-filter stream) — a new
// key reaches the module's table off the request path (/key/generate does not
// wait for it; until then ext_proc serves the key), so it asks again for up to
// 5 s — and puts 6 clients under load with it for a time that grows with the
// round. It returns the gateway, the key, the cost of the answers before the
// load (pre) and of one answer (each), the clients' stop channel and the
// function that waits for them and sums their answers' costs.
func moduleSpendRound(t *testing.T, cfg, dataDir string, round int) (g *Gateway, key string, pre, each float64, stop chan struct{}, sum func() (float64, int)) {
	t.Helper()
	g = startGatewayArgs(t, cfg, moduleArgs, "LLMGATE_DATA_DIR="+dataDir)
	waitLog(t, g, "llmgate module: config")
	k := keyAPI{t, g}
	key, _ = k.generate(`{"models":["gpt-x"]}`)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		before := requestFilterStreams(t, g)
		st, _, h := k.chat(key, "gpt-x")
		if st != 200 {
			t.Fatalf("round %d: the key's first request: %d", round, st)
		}
		each, _ = strconv.ParseFloat(h.Get("x-litellm-response-cost"), 64)
		pre += each
		if requestFilterStreams(t, g) == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("round %d: the key is not served by the module 5 s after it was issued", round)
		}
	}
	stop = make(chan struct{})
	sum = moduleLoad(t, g.URL, key, 6, stop)
	time.Sleep(time.Duration(700+300*round) * time.Millisecond)
	return g, key, pre, each, stop, sum
}

// TestModuleSpendSurvivesRestart (D63): with the module serving virtual keys
// (module mode, the default), the gateway is stopped (SIGTERM: Envoy drains
// and stops) while clients send requests, and started again on the same
// data: the key's spend equals the sum of the x-litellm-response-cost of
// every answer a client received — the last answers' outcome records, which
// the module ships every 20 ms, are acknowledged before Envoy stops, none is
// lost. The batch interval is longer than the test: the spend comes through
// the write-ahead file and the final batch.
func TestModuleSpendSurvivesRestart(t *testing.T) {
	cfg, dataDir := moduleSpendSetup(t)
	for round := 0; round < 3; round++ {
		g, key, pre, first, stop, sum := moduleSpendRound(t, cfg, dataDir, round)
		if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		close(stop)
		<-g.done
		total, n := sum()
		g = startGatewayArgs(t, cfg, moduleArgs, "LLMGATE_DATA_DIR="+dataDir)
		got := keyAPI{t, g}.spend(key)
		// The first requests' cost is in the spend too. An answer the
		// provider gave and Envoy passed whole may still not reach a client
		// whose connection the stop cut: its spend counts (as LiteLLM's
		// does), so the spend may exceed the sum by the answers in flight.
		want := total + pre
		if got < want-1e-9 || got > want+6*inFlightCost(first, total, n)+1e-9 || n == 0 {
			t.Fatalf("round %d: the key's spend after a stop mid-load and a restart is %v; the %d answers clients received cost %v (each %v)", round, got, n, want, first)
		}
		t.Logf("round %d: %d answers under load, spend %v", round, n, got)
		g.Stop()
	}
}

// TestModuleSpendSurvivesKill (D63): the crash test of D33 on the module
// path, mid-load: the gateway and its Envoy are killed (SIGKILL of the
// process group) while 6 clients send requests the module serves, and
// started again on the same data: the key's spend is the sum of the
// x-litellm-response-cost of every answer a client received (plus at most
// the answers in flight whose client connection the kill cut). In the last
// round the clients stop first and the kill comes right after the last
// answer: its record, and those of the answers just before it, are still in
// the module's outbox (shipped every 20 ms) — in Envoy's memory and in the
// module's file copy, which the restarted gateway reports before its Envoy
// starts; the spend must then equal the answers' costs exactly.
func TestModuleSpendSurvivesKill(t *testing.T) {
	cfg, dataDir := moduleSpendSetup(t)
	for round := 0; round < 3; round++ {
		g, key, pre, first, stop, sum := moduleSpendRound(t, cfg, dataDir, round)
		last := round == 2
		var total float64
		var n int
		if last {
			close(stop)
			total, n = sum()
		}
		if err := syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-g.done
		if !last {
			close(stop)
			total, n = sum()
		}
		g = startGatewayArgs(t, cfg, moduleArgs, "LLMGATE_DATA_DIR="+dataDir)
		got := keyAPI{t, g}.spend(key)
		want := total + pre
		// At most the six workers' answers in flight were charged and not
		// received; they cost what a load answer costs (its prompt is not
		// the first request's).
		slack := 6 * inFlightCost(first, total, n)
		if last {
			slack = 0
		}
		if got < want-1e-9 || got > want+slack+1e-9 || n == 0 {
			t.Fatalf("round %d: the key's spend after kill -9 mid-load and a restart is %v; the %d answers clients received cost %v (each %v)", round, got, n, want, first)
		}
		t.Logf("round %d: %d answers under load, spend %v (answers %v)", round, n, got, want)
		g.Stop()
	}
}

// TestModuleKeyIssue (D63): keys issued one after another in module mode
// each work at once (the module hands a key it does not hold yet to
// ext_proc), and a block is still applied by the module before its route
// answers. The time to issue them is logged (D63's figures).
func TestModuleKeyIssue(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	// The module's fast path (two deployments, no retry of one deployment).
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/sr-a/v1, api_key: sk-sr-a}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/sr-b/v1, api_key: sk-sr-b}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
router_settings:
  num_retries: 0
general_settings:
  master_key: %[2]s
  proxy_batch_write_at: 1
`, fake.URL(), master)
	g := startGatewayArgs(t, cfg, moduleArgs, "LLMGATE_DATA_DIR="+t.TempDir())
	waitLog(t, g, "llmgate module: config")
	k := keyAPI{t, g}
	const n = 300
	start := time.Now()
	var made []string
	for i := 0; i < n; i++ {
		key, _ := k.generate(`{"models":["gpt-x"]}`)
		made = append(made, key)
	}
	t.Logf("%d keys issued one after another in %v (%v per key)", n, time.Since(start).Round(time.Millisecond), (time.Since(start) / n).Round(time.Microsecond))
	for _, key := range []string{made[0], made[n/2], made[n-1]} {
		if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
			t.Fatalf("a key just issued: %d %v", st, e)
		}
	}
	key := made[n-1]
	if st, m := k.call("POST", "/key/block", master, `{"key":"`+key+`"}`); st != 200 {
		t.Fatalf("/key/block: %d %v", st, m)
	}
	if st, e, _ := k.chat(key, "gpt-x"); st != 401 {
		t.Fatalf("blocked key right after /key/block: %d %v", st, e)
	}
}

// inFlightCost is the most one answer in flight may cost: the load's answers
// (all alike, total over n) or the first request's, whichever is more.
func inFlightCost(first, total float64, n int) float64 {
	if n > 0 && total/float64(n) > first {
		return total / float64(n)
	}
	return first
}

// TestModuleSpendRecords (D145): a virtual key's first-try successes served
// by the module, on a config where nothing but the spend sink reads a
// success, are sent as compact spend records (LLMGATE_MODULE_HOOK_COUNTS'
// "spend"), one per answer, JSON and streamed; the key's spend is the sum
// of the answers' x-litellm-response-cost, and each answer has its spend
// log row with the fields the client's answer names (request id, spend,
// tokens, model group, the key's user and tags, the User-Agent tags).
func TestModuleSpendRecords(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	counts := filepath.Join(t.TempDir(), "hooks.json")
	// The module's fast path (two deployments, no retry of one deployment).
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/sr-a/v1, api_key: sk-sr-a}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/sr-b/v1, api_key: sk-sr-b}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
router_settings:
  num_retries: 0
general_settings:
  master_key: %[2]s
  proxy_batch_write_at: 1
`, fake.URL(), master)
	g := startGatewayArgs(t, cfg, moduleArgs, "LLMGATE_DATA_DIR="+t.TempDir(), "LLMGATE_MODULE_HOOK_COUNTS="+counts)
	waitLog(t, g, "llmgate module: config")
	k := keyAPI{t, g}
	key, token := k.generate(`{"models":["gpt-x"],"user_id":"u-rec","metadata":{"tags":["k-tag"]}}`)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		before := requestFilterStreams(t, g)
		if st, _, _ := k.chat(key, "gpt-x"); st != 200 {
			t.Fatalf("the key's first request: %d", st)
		}
		if requestFilterStreams(t, g) == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the key is not served by the module 5 s after it was issued")
		}
	}
	// The first requests' spend, once it has come (records are shipped
	// every 20 ms).
	spent := 0.0
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		v := k.spend(key)
		if v > 0 && v == spent || time.Now().After(deadline) {
			break
		}
		spent = v
	}
	base := readHookCounts(t, counts)
	const n = 10
	costs := map[string]float64{}
	tokens := map[string][2]float64{}
	var sum float64
	for i := 0; i < n; i++ {
		body := `{"model":"gpt-x","messages":[{"role":"user","content":"compact spend ` + strconv.Itoa(i) + `"}]}`
		if i%2 == 1 {
			body = `{"model":"gpt-x","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"compact spend ` + strconv.Itoa(i) + `"}]}`
		}
		st, h, b := post(t, g.URL+"/v1/chat/completions", key, body)
		if st != 200 || h.Get("x-litellm-call-id") == "" {
			t.Fatalf("answer %d: %d %v %s", i, st, h, b)
		}
		// The deployment's prices (keysConfig): 0.001 in, 0.002 out; a
		// JSON answer's x-litellm-response-cost says the same.
		u := answerUsage(t, b, i%2 == 1)
		cost := u[0]*0.001 + u[1]*0.002
		if hc, err := strconv.ParseFloat(h.Get("x-litellm-response-cost"), 64); i%2 == 0 && (err != nil || math.Abs(hc-cost) > 1e-12) {
			t.Fatalf("answer %d: x-litellm-response-cost %q, its usage %v costs %v", i, h.Get("x-litellm-response-cost"), u, cost)
		}
		costs[h.Get("x-litellm-call-id")] = cost
		sum += cost
		tokens[h.Get("x-litellm-call-id")] = u
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d := readHookCounts(t, counts).minus(base)
		if d["listener"]["calls"]["destroy"] >= n {
			time.Sleep(150 * time.Millisecond) // the file is written every 50 ms
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hook counts did not reach %d requests: %v", n, d)
		}
	}
	d := readHookCounts(t, counts).minus(base)
	if put, spend := d["outcomes"]["records"]["put"], d["outcomes"]["records"]["spend"]; put != n || spend != n {
		t.Errorf("%d keyed first-try successes: %d outcome records written, %d of them compact spend records; want %d and %d (counts %v)", n, put, spend, n, n, d)
	}
	// D154: a held (JSON) answer of a spend-only plan does not read the
	// provider's rate-limit headers (its compact record carries none); the
	// streamed ones, not held, still do.
	for _, name := range []string{"retry-after", "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens"} {
		if got := d["callbacks"]["response_header_reads"][name]; got > n/2 {
			t.Errorf("Go read the answers' %s %d times for %d held and %d streamed answers, want at most %d (all: %v)", name, got, n/2, n/2, n/2, d["callbacks"])
		}
	}
	// D154: the record's request id is the one the module read with the
	// request's headers (the spend log rows above are found by it), not
	// read from Envoy again at the request's end.
	if got := d["callbacks"]["request_header_reads"]["x-request-id"]; got != 0 {
		t.Errorf("Go read x-request-id from Envoy %d times for %d records, want 0 (all: %v)", got, n, d["callbacks"])
	}
	var got float64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if got = k.spend(key) - spent; got > sum-1e-9 || time.Now().After(deadline) {
			break
		}
	}
	if got < sum-1e-9 || got > sum+1e-9 {
		t.Errorf("the key's spend grew by %v; its %d answers cost %v", got, n, sum)
	}
	var rows []map[string]any
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, _, b := do(t, "GET", g.URL+"/spend/logs?api_key="+key, master, "")
		rows = nil
		if st != 200 || json.Unmarshal(b, &rows) != nil {
			t.Fatalf("/spend/logs: %d %s", st, b)
		}
		if len(rows) >= n+1 || time.Now().After(deadline) {
			break
		}
	}
	seen := 0
	for _, r := range rows {
		id, _ := r["request_id"].(string)
		cost, ok := costs[id]
		if !ok {
			continue
		}
		seen++
		u := tokens[id]
		tags, _ := r["request_tags"].([]any)
		if r["spend"] != cost || r["api_key"] != token || r["model_group"] != "gpt-x" || r["user"] != "u-rec" ||
			r["prompt_tokens"] != u[0] || r["completion_tokens"] != u[1] || r["total_tokens"] != u[0]+u[1] ||
			len(tags) < 2 || tags[0] != "k-tag" || !strings.HasPrefix(fmt.Sprint(tags[1]), "User-Agent: ") || r["call_type"] != "acompletion" {
			t.Errorf("spend log row of %s (cost %v, usage %v): %v", id, cost, u, r)
		}
	}
	if seen != n {
		t.Errorf("%d spend log rows of the %d answers (%d rows in all)", seen, n, len(rows))
	}
}

// answerUsage is the prompt and completion tokens a chat answer reported
// (a stream's usage chunk).
func answerUsage(t *testing.T, b []byte, stream bool) [2]float64 {
	t.Helper()
	var m struct {
		Usage *struct {
			Prompt     float64 `json:"prompt_tokens"`
			Completion float64 `json:"completion_tokens"`
		} `json:"usage"`
	}
	if !stream {
		if json.Unmarshal(b, &m) != nil || m.Usage == nil {
			t.Fatalf("an answer without usage: %s", b)
		}
		return [2]float64{m.Usage.Prompt, m.Usage.Completion}
	}
	for _, line := range strings.Split(string(b), "\n") {
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		if json.Unmarshal([]byte(data), &m) == nil && m.Usage != nil {
			return [2]float64{m.Usage.Prompt, m.Usage.Completion}
		}
	}
	t.Fatalf("a stream without its usage chunk: %s", b)
	return [2]float64{}
}
