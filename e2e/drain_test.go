package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// streamResult is what a client read of one stream.
type streamResult struct {
	data []string // data: payloads
	err  error
}

// openStream starts a streamed chat completion and returns once its first
// event has arrived; the rest is read in the background into res.
func openStream(t *testing.T, url, key, model string, res *streamResult, wg *sync.WaitGroup) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"drain"}]}`))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		t.Fatalf("stream: status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	first := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		defer resp.Body.Close()
		once := sync.Once{}
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				res.data = append(res.data, strings.TrimSpace(d))
				once.Do(func() { close(first) })
			}
		}
		res.err = sc.Err()
		once.Do(func() { close(first) })
	}()
	<-first
}

func drainConfig(fakeURL string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: slow
    litellm_params: {model: openai/gpt-4o, api_base: %s/v1, api_key: k}
general_settings:
  master_key: %s
`, fakeURL, master)
}

// TestGracefulDrain (issue 13 item 5): on SIGTERM readiness stops answering
// 200, and streams in flight finish whole (every chunk and [DONE]) before
// llmgate exits 0.
func TestGracefulDrain(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{StreamChunks: 12, ChunkDelay: 250 * time.Millisecond, Reply: "one two three four five six seven eight nine ten eleven twelve"})
	g := startGateway(t, drainConfig(fake.URL()))
	var wg sync.WaitGroup
	results := make([]streamResult, 3)
	for i := range results {
		openStream(t, g.URL, master, "slow", &results[i], &wg)
	}
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Readiness fails while the streams are still running.
	notReady := ""
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(g.URL + "/health/readiness")
		if err != nil {
			notReady = "refused: " + err.Error()
			break
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			notReady = fmt.Sprint("status ", resp.StatusCode)
			break
		}
	}
	if notReady == "" {
		t.Error("readiness still 200 five seconds after SIGTERM")
	}
	t.Logf("readiness after SIGTERM: %s", notReady)
	wg.Wait()
	for i, r := range results {
		if r.err != nil || len(r.data) < 12 || r.data[len(r.data)-1] != "[DONE]" {
			t.Errorf("stream %d cut by the shutdown: %d events, err %v, last %q", i, len(r.data), r.err, last(r.data))
		}
	}
	select {
	case <-g.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("llmgate still running 30 s after the streams ended:\n%s", g.Logs())
	}
	if code := g.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d after a drain, want 0:\n%s", code, g.Stderr())
	}
	if !strings.Contains(g.Stderr(), "draining") || strings.Contains(g.Stderr(), "drain timeout") {
		t.Errorf("the log does not show a complete drain:\n%s", g.Stderr())
	}
	// A clean shutdown logs no warning of llmgate's, nor Envoy's SIGTERM
	// warning (Envoy is stopped through its admin interface). Envoy still
	// logs its ADS stream closing as it exits.
	if i := strings.Index(g.Stderr(), "draining"); i >= 0 {
		for _, line := range strings.Split(g.Stderr()[i:], "\n") {
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "caught ENVOY_SIGTERM") {
				t.Errorf("a warning on a clean shutdown: %s", line)
			}
		}
	}
	if _, err := http.Get(g.URL + "/health/liveliness"); err == nil {
		t.Error("the listener still answers after exit")
	}
}

// TestDrainTimeout: a stream longer than --drain-timeout is cut when the
// timeout ends, and llmgate still exits 0, saying so in its log.
func TestDrainTimeout(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{StreamChunks: 40, ChunkDelay: 500 * time.Millisecond})
	cfg := writeConfig(t, drainConfig(fake.URL()))
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	g := startLLMGate(t, url, cliEnv(), "run", cfg, "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"--envoy", envoyBin, "--envoy-concurrency", "1", "--drain-timeout", "1s")
	var wg sync.WaitGroup
	var res streamResult
	openStream(t, url, master, "slow", &res, &wg)
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("llmgate still running 30 s after SIGTERM with --drain-timeout 1s:\n%s", g.Logs())
	}
	wg.Wait()
	if code := g.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d, want 0:\n%s", code, g.Stderr())
	}
	if len(res.data) >= 40 && last(res.data) == "[DONE]" {
		t.Errorf("a 20 s stream finished within a 1 s drain timeout")
	}
	if !strings.Contains(g.Stderr(), "drain timeout: requests still in flight are cut") {
		t.Errorf("the log does not say the drain timed out:\n%s", g.Stderr())
	}
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}
