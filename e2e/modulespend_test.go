package e2e

import (
	"context"
	"io"
	"net/http"
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
	g := startGatewayArgs(t, keysConfig(fake.URL(), ""), moduleArgs, "LLMGATE_DATA_DIR="+t.TempDir())
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
