package e2e

import (
	"fmt"
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
	s := newSplit(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{Latency: 20 * time.Millisecond})
	cfgPath := s.write("config.yaml", []byte(splitConfig(fake.URL(), "")))
	extA := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	extB := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.start(nil, llmgateBin, "controlplane", cfgPath, "--listen", s.xdsAddr, "--extproc-address", extA+","+extB,
		"--host", "127.0.0.1", "--port", fmt.Sprint(s.port))
	repA := s.start(nil, llmgateBin, "extproc", "--xds-address", s.xdsAddr, "--listen", extA)
	s.start(nil, llmgateBin, "extproc", "--xds-address", s.xdsAddr, "--listen", extB)
	s.envoy(nil, 2)
	s.waitReady("/health/readiness", 1)
	url, logs := s.url, &s.logs
	body := `{"model":"gpt-x","messages":[{"role":"user","content":"replica"}]}`

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
