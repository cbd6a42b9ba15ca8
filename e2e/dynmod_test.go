package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// moduleArgs runs `llmgate run` with the in-Envoy request filter (D49).
var moduleArgs = []string{"--request-filter=module"}

// waitLog waits until llmgate's log contains s.
func waitLog(t *testing.T, g *Gateway, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(g.Stderr(), s) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("log never said %q:\n%s", s, g.Logs())
}

// TestRequestModuleLoads (D49): with --request-filter=module Envoy loads
// llmgate's dynamic module into the listener before the ext_proc request
// filter, confirms its ABI version, and requests are answered as before:
// success, 401 without a key; a marker header a client sends skips nothing
// and reaches no provider.
func TestRequestModuleLoads(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-up}
router_settings: {num_retries: 0}
general_settings: {master_key: %[2]s}
`, fake.URL(), master), moduleArgs)
	waitLog(t, g, "envoy loaded the request filter module")
	dump := adminGet(t, g, "/config_dump?resource=dynamic_listeners")
	mod, ext := strings.Index(dump, "llmgate.request_module"), strings.Index(dump, "envoy.filters.http.ext_proc")
	if mod < 0 || ext < 0 || mod > ext {
		t.Fatalf("listener: module at %d, ext_proc request filter at %d; want the module first", mod, ext)
	}
	body := `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`
	for i := 0; i < 3; i++ {
		if code, _, b := post(t, g.URL+"/v1/chat/completions", master, body); code != 200 {
			t.Fatalf("chat: %d %s", code, b)
		}
	}
	code, _, b := post(t, g.URL+"/v1/chat/completions", "", body)
	if code != 401 || !strings.Contains(string(b), `"type":"auth_error"`) {
		t.Fatalf("no key: %d %s", code, b)
	}
	// A forged marker skips no check, and no marker reaches a provider.
	for _, forged := range []string{"1", "handled"} {
		code, _, b := postWith(t, g.URL+"/v1/chat/completions", "", body, "x-llmgate-module", forged)
		if code != 401 {
			t.Fatalf("forged marker %q without a key: %d %s", forged, code, b)
		}
	}
	fake.Reset()
	if code, _, b := postWith(t, g.URL+"/v1/chat/completions", master, body, "x-llmgate-module", "1"); code != 200 {
		t.Fatalf("chat with a forged marker: %d %s", code, b)
	}
	rec, ok := fake.Last()
	if !ok {
		t.Fatal("no upstream request")
	}
	for k := range rec.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-llmgate") {
			t.Errorf("internal header %s reached the provider", k)
		}
	}
}

// TestRequestModuleRefused (D49): llmgate does not run a module Envoy does
// not confirm: a missing file, and a module that claims another ABI version
// (Envoy loads it with a warning only) end the run with an error.
func TestRequestModuleRefused(t *testing.T) {
	cfg := `
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, mock_response: hi}
`
	run := func(t *testing.T, lib string) string {
		t.Helper()
		g := newGateway(t, cfg, []string{"--request-filter=module", "--dynamic-module", lib})
		out, err := g.cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("llmgate ran with %s:\n%s", lib, out)
		}
		return string(out)
	}
	t.Run("missing", func(t *testing.T) {
		if out := run(t, filepath.Join(t.TempDir(), "libllmgate.so")); !strings.Contains(out, "dynamic module") || !strings.Contains(out, "missing") {
			t.Fatalf("output: %s", out)
		}
	})
	t.Run("other_abi", func(t *testing.T) {
		lib := filepath.Join(t.TempDir(), "libllmgate.so")
		if out, err := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags", "-X main.abiVersionString=v0.1.9", "-o", lib, "../dynmod").CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		out := run(t, lib)
		if !strings.Contains(out, "does not run the module's ABI version v0.2.0") || !strings.Contains(out, "v0.1.9") {
			t.Fatalf("output: %s", out)
		}
	})
}

// postWith is post with extra request headers (name, value, ...).
func postWith(t *testing.T, url, key, body string, kv ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	if key != "" {
		req.Header.Set("authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}
