package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestModuleQuietSuccesses (D124): on a config where nothing reads a
// success's outcome (no callback or metrics sink, no spend, no tpm or rpm
// counting, no latency or usage routing, no budgets), a request the module
// served whose first try answered 2xx writes no outcome record for the
// gateway — its join and report did nothing for such a request but cost
// the gateway's CPU beside Envoy's — while a failed request's record is
// still written (cooldowns need it), and the answers are unchanged.
func TestModuleQuietSuccesses(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	counts := filepath.Join(t.TempDir(), "hooks.json")
	dead := freePort(t)
	g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: qt
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/qt-a/v1, api_key: sk-qt-a}
  - model_name: qt
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/qt-b/v1, api_key: sk-qt-b}
  - model_name: gone
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:%[3]d/v1", api_key: sk-gone}
router_settings:
  num_retries: 0
general_settings:
  master_key: %[2]s
`, fake.URL(), master, dead), moduleArgs, "LLMGATE_MODULE_HOOK_COUNTS="+counts)
	url := g.URL + "/v1/chat/completions"
	warmModule(t, g, url, "qt") // served by the module (no request-filter stream) before counting
	// settled waits until the counts show n more completed requests than base.
	settled := func(base hookCounts, n uint64) hookCounts {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			d := readHookCounts(t, counts).minus(base)
			if d["listener"]["calls"]["destroy"] >= n {
				time.Sleep(150 * time.Millisecond) // the file is written every 50 ms
				return readHookCounts(t, counts).minus(base)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the hook counts did not reach %d requests: %v", n, d)
			}
		}
	}
	const n = 10

	time.Sleep(150 * time.Millisecond)
	base := readHookCounts(t, counts)
	for i := 0; i < n; i++ {
		body := `{"model":"qt","messages":[{"role":"user","content":"hello"}]}`
		if i%2 == 1 {
			body = `{"model":"qt","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}`
		}
		st, h, b := post(t, url, master, body)
		if st != 200 || h.Get("x-litellm-model-group") != "qt" || h.Get("x-litellm-model-id") == "" || h.Get("x-litellm-call-id") == "" {
			t.Fatalf("answer %d: %d %v %s", i, st, h, b)
		}
	}
	d := settled(base, n)
	if put, quiet := d["outcomes"]["records"]["put"], d["outcomes"]["records"]["quiet"]; put != 0 || quiet != n {
		t.Errorf("%d first-try successes: %d outcome records written, %d left out; want 0 and %d", n, put, quiet, n)
	}

	base = readHookCounts(t, counts)
	if st, _, b := post(t, url, master, `{"model":"gone","messages":[{"role":"user","content":"hello"}]}`); st < 500 {
		t.Fatalf("a request to a deployment that refuses connections: %d %s", st, b)
	}
	d = settled(base, 1)
	if put := d["outcomes"]["records"]["put"]; put != 1 {
		t.Errorf("a failed request: %d outcome records written, want 1 (all: %v)", put, d["outcomes"])
	}
}
