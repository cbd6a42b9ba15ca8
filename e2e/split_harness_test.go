package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// splitRun is the scaffolding of a split-mode test (the pieces run apart, as
// a fleet runs them): a temp dir, the control plane's address, Envoy's
// listener port, and the processes the test starts, each stopped (SIGTERM)
// when the test ends.
type splitRun struct {
	t       *testing.T
	dir     string
	xdsAddr string
	port    int
	url     string
	// logs gets the output of every process started with a nil writer; it
	// is shown when the test fails.
	logs lockedBuffer
}

func newSplit(t *testing.T) *splitRun {
	t.Helper()
	needEnvoy(t)
	s := &splitRun{t: t, dir: t.TempDir(), xdsAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), port: freePort(t)}
	s.url = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	t.Cleanup(func() {
		if t.Failed() && s.logs.String() != "" {
			t.Logf("split-mode logs:\n%s", tail(s.logs.String(), 6000))
		}
	})
	return s
}

// write puts data in the test's dir as name and returns its path.
func (s *splitRun) write(name string, data []byte) string {
	s.t.Helper()
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// start runs a process with its output to w (nil: s.logs) and stops it when
// the test ends.
func (s *splitRun) start(w io.Writer, args ...string) *exec.Cmd {
	s.t.Helper()
	if w == nil {
		w = &s.logs
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	return cmd
}

// envoy starts Envoy (concurrency workers, its output to w) on the bootstrap
// `llmgate bootstrap` writes for the control plane, with bootstrapArgs (TLS
// options).
func (s *splitRun) envoy(w io.Writer, concurrency int, bootstrapArgs ...string) {
	s.t.Helper()
	boot, err := exec.Command(llmgateBin, append([]string{"bootstrap", "--xds-address", s.xdsAddr, "--admin-port", "0"}, bootstrapArgs...)...).Output()
	if err != nil {
		s.t.Fatalf("bootstrap: %v %s", err, stderrOf(err))
	}
	s.startEnvoy(w, s.write("bootstrap.json", boot), s.port, concurrency)
}

// startEnvoy runs Envoy on a bootstrap file; port is its base id (unique
// per test).
func (s *splitRun) startEnvoy(w io.Writer, bootPath string, port, concurrency int) {
	s.t.Helper()
	s.start(w, envoyBin, "--config-path", bootPath, "--base-id", fmt.Sprint(port), "--log-level", "warn", "--concurrency", fmt.Sprint(concurrency))
}

// waitReady waits (30 s at most) until the gateway answers path with 200
// inARow times in a row (with several replicas behind a balancer, until
// each has answered).
func (s *splitRun) waitReady(path string, inARow int) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for n := 0; n < inARow; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(s.url + path)
		if err == nil {
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == 200 {
			n++
		} else {
			n = 0
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("split gateway not ready (%s): %v", path, err)
		}
	}
}

// splitConfig is a config with one model group, gpt-x, on the fake provider
// under prefix, and the test master key.
func splitConfig(fakeURL, prefix string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %s%s/v1, api_key: k}
general_settings:
  master_key: %s
`, fakeURL, prefix, master)
}
