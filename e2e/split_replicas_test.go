package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestSplitModeReplicaStopped (issue 13 item 7): one control plane, two
// ext_proc replicas behind Envoy's ext_proc cluster (grpc.health.v1 checks
// every second). One replica gets SIGTERM in the middle of a run of
// concurrent requests: it reports NOT_SERVING, Envoy moves new streams to the
// other, its own streams finish — and no client request fails.
func TestSplitModeReplicaStopped(t *testing.T) {
	needEnvoy(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{Latency: 20 * time.Millisecond})
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %s/v1, api_key: k}
general_settings:
  master_key: %s
`, fake.URL(), master)), 0o600); err != nil {
		t.Fatal(err)
	}
	extA := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	extB := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	xdsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	port := freePort(t)
	var logs lockedBuffer
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_, _ = cmd.Process.Wait()
		})
		return cmd
	}
	start(llmgateBin, "controlplane", cfgPath, "--listen", xdsAddr, "--extproc-address", extA+","+extB,
		"--host", "127.0.0.1", "--port", fmt.Sprint(port))
	repA := start(llmgateBin, "extproc", "--xds-address", xdsAddr, "--listen", extA)
	start(llmgateBin, "extproc", "--xds-address", xdsAddr, "--listen", extB)
	boot, err := exec.Command(llmgateBin, "bootstrap", "--xds-address", xdsAddr, "--admin-port", "0").Output()
	if err != nil {
		t.Fatal(err)
	}
	bootPath := filepath.Join(dir, "bootstrap.json")
	if err := os.WriteFile(bootPath, boot, 0o600); err != nil {
		t.Fatal(err)
	}
	start(envoyBin, "--config-path", bootPath, "--base-id", fmt.Sprint(port), "--log-level", "error", "--concurrency", "2")

	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	body := `{"model":"gpt-x","messages":[{"role":"user","content":"replica"}]}`
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(url + "/health/readiness"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("split gateway with two replicas not serving:\n%s", tail(logs.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}

	const workers, perWorker = 4, 75
	var done, failed atomic.Int32
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				code, _, b := post(t, url+"/v1/chat/completions", master, body)
				done.Add(1)
				if code != 200 {
					failed.Add(1)
					mu.Lock()
					if len(failures) < 5 {
						failures = append(failures, fmt.Sprintf("%d %s", code, b))
					}
					mu.Unlock()
				}
			}
		}()
	}
	for done.Load() < workers*perWorker/4 {
		time.Sleep(10 * time.Millisecond)
	}
	stoppedAt := done.Load()
	if err := repA.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { _, err := repA.Process.Wait(); exited <- err }()
	wg.Wait()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the stopped replica did not exit")
	}
	t.Logf("%d requests, replica A stopped after %d, %d failed", done.Load(), stoppedAt, failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed while a replica stopped: %v", failed.Load(), done.Load(), failures)
	}
	if done.Load()-stoppedAt < workers*perWorker/2 {
		t.Errorf("only %d requests after the stop: the test did not overlap it", done.Load()-stoppedAt)
	}
	if !strings.Contains(logs.String(), "draining: health NOT_SERVING") {
		t.Errorf("the replica did not drain:\n%s", tail(logs.String(), 4000))
	}
}
