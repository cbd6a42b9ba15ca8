package e2e

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestSplitMode runs the pieces apart, as a fleet would: `llmgate extproc`,
// `llmgate controlplane`, and an Envoy started from `llmgate bootstrap`.
func TestSplitMode(t *testing.T) {
	s := newSplit(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfgPath := s.write("config.yaml", []byte(splitConfig(fake.URL(), "/split")))
	extAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var cpLog, extLog lockedBuffer
	s.start(io.MultiWriter(os.Stderr, &cpLog), llmgateBin, "controlplane", "--config", cfgPath, "--listen", s.xdsAddr, "--extproc-address", extAddr,
		"--host", "127.0.0.1", "--port", fmt.Sprint(s.port))
	// The ext_proc replica takes its config from the control plane's routing
	// table, not from the file: replicas cannot drift apart.
	ext := s.start(io.MultiWriter(os.Stderr, &extLog), llmgateBin, "extproc", "--xds-address", s.xdsAddr, "--listen", extAddr)
	s.envoy(os.Stderr, 1)
	s.waitReady("/health/liveliness", 1)
	url := s.url
	code, h, b := post(t, url+"/v1/chat/completions", master, `{"model":"gpt-x","messages":[{"role":"user","content":"split"}]}`)
	if code != 200 || !strings.Contains(string(b), "split") || h.Get("x-litellm-model-group") != "gpt-x" {
		t.Fatalf("status %d: %s", code, b)
	}
	rec, _ := fake.Last()
	if rec.Path != "/split/v1/chat/completions" {
		t.Errorf("upstream path %s", rec.Path)
	}

	// A config change reaches Envoy and the ext_proc replica through the control plane.
	if err := os.WriteFile(cfgPath+".tmp", []byte(fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/split/v1, api_key: k}
  - model_name: added
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/added/v1, api_key: k}
general_settings:
  master_key: %[2]s
`, fake.URL(), master)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(cfgPath+".tmp", cfgPath); err != nil {
		t.Fatal(err)
	}
	served := false
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if code, _, _ := post(t, url+"/v1/chat/completions", master, `{"model":"added","messages":[{"role":"user","content":"new"}]}`); code == 200 {
			served = true
			break
		}
	}
	if !served {
		t.Fatal("the new model group never served through the split gateway")
	}
	// Issue 13: one reload line in every process, naming the same version.
	reloaded := regexp.MustCompile(`msg="config reloaded" from=(\S+) to=(\S+) deployments=2 source=(\S+)`)
	var cp, rep []string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cp, rep = reloaded.FindStringSubmatch(cpLog.String()), reloaded.FindStringSubmatch(extLog.String()); cp != nil && rep != nil {
			break
		}
	}
	if cp == nil || rep == nil || cp[1] != rep[1] || cp[2] != rep[2] || cp[1] == cp[2] || cp[3] != "file" || rep[3] != "control_plane" {
		t.Errorf("reload lines differ: control plane %q, replica %q", cp, rep)
	}

	// ext_proc down: the client still gets OpenAI error JSON, never Envoy's text.
	_ = ext.Process.Signal(syscall.SIGTERM)
	_ = ext.Wait()
	code, _, b = post(t, url+"/v1/chat/completions", master, `{"model":"gpt-x","messages":[{"role":"user","content":"x"}]}`)
	t.Logf("ext_proc down: %d %s", code, b)
	if code < 500 {
		t.Errorf("status %d with ext_proc down", code)
	}
	assertOpenAIError(t, code, b, code, "")
	// Issue 8 item 2: no internals (the gRPC error text) in what the client reads.
	assertCleanError(t, b)
}
