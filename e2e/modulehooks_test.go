package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// hookCounts is what the module writes to LLMGATE_MODULE_HOOK_COUNTS (dynmod
// HookCounts): by filter ("listener", "upstream"), the calls Envoy made of
// each hook ("calls") and those that entered Go ("go").
type hookCounts map[string]map[string]map[string]uint64

func readHookCounts(t *testing.T, path string) hookCounts {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the module's hook counts: %v", err)
	}
	var hc hookCounts
	if err := json.Unmarshal(b, &hc); err != nil {
		t.Fatalf("the module's hook counts %q: %v", b, err)
	}
	return hc
}

// minus is hc - base, counter by counter.
func (hc hookCounts) minus(base hookCounts) hookCounts {
	out := hookCounts{}
	for f, kinds := range hc {
		out[f] = map[string]map[string]uint64{}
		for k, hooks := range kinds {
			out[f][k] = map[string]uint64{}
			for h, n := range hooks {
				out[f][k][h] = n - base[f][k][h]
			}
		}
	}
	return out
}

// TestModuleHookCalls (D81): the module's per-request hooks are C functions
// that enter Go only when the request needs Go for that call. A fast
// non-streamed request through the module enters Go 4 times (the listener
// filter's request headers, the end of the request body, the end of the
// response body; the try's request headers), where every hook Envoy calls
// (15 for such a request) entered Go before: no filter creation or
// destruction, no try's body and no body chunk before the end enters Go,
// and since D114 no response headers and no stream complete: C holds the
// try's success and the listener's JSON answer, whose headers' work Go does
// at its end, with the outcome record. A streamed answer's events are all
// read by the listener filter (usage, the client's chunk), none by the try.
// The answers are what they were: status, x-litellm-* headers, usage, cost.
func TestModuleHookCalls(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	counts := filepath.Join(t.TempDir(), "hooks.json")
	g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: hk
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/hk-a/v1, api_key: sk-hk-a}
  - model_name: hk
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/hk-b/v1, api_key: sk-hk-b}
  - model_name: down
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/hk-down/v1, api_key: sk-hk-down}
router_settings:
  num_retries: 0
  fallbacks: [{"down": ["hk"]}]
general_settings:
  master_key: %[2]s
`, fake.URL(), master), moduleArgs, "LLMGATE_MODULE_HOOK_COUNTS="+counts)
	failPath(t, fake, "/hk-down/", 500, "down is down")
	url := g.URL + "/v1/chat/completions"
	warmModule(t, g, url, "hk") // served by the module (no request-filter stream) before counting
	// settled waits until the counts show n more completed requests than base.
	settled := func(base hookCounts, n uint64) hookCounts {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			hc := readHookCounts(t, counts)
			d := hc.minus(base)
			if d["listener"]["calls"]["destroy"] >= n && d["upstream"]["calls"]["destroy"] >= n {
				time.Sleep(150 * time.Millisecond) // the file is written every 50 ms
				return readHookCounts(t, counts).minus(base)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the hook counts did not reach %d requests: %v", n, d)
			}
		}
	}
	check := func(t *testing.T, d hookCounts, filter, kind string, want map[string]uint64) {
		t.Helper()
		for h, n := range want {
			if got := d[filter][kind][h]; got != n {
				t.Errorf("%s filter, %s %s: %d, want %d (all: %v)", filter, h, kind, got, n, d[filter])
			}
		}
	}
	const n = 10

	// D144: the answer's work is done at the try's end (one hold instead of
	// two): the try's response body end enters Go, the listener's answer
	// passes without Go.
	t.Run("a fast non-streamed request enters Go 4 times", func(t *testing.T) {
		time.Sleep(150 * time.Millisecond)
		base := readHookCounts(t, counts)
		from := time.Now()
		r0, a0 := streamsByFilter(t, g)
		for i := 0; i < n; i++ {
			st, h, b := post(t, url, master, `{"model":"hk","messages":[{"role":"user","content":"hello"}]}`)
			if st != 200 || h.Get("x-litellm-model-group") != "hk" || h.Get("x-litellm-response-cost") == "" || h.Get("x-litellm-model-id") == "" ||
				h.Get("x-envoy-attempt-count") != "" || h.Get("content-length") != strconv.Itoa(len(b)) {
				t.Fatalf("answer %d: %d %v %s", i, st, h, b)
			}
			var r struct {
				Usage struct {
					TotalTokens int `json:"total_tokens"`
				} `json:"usage"`
			}
			if json.Unmarshal(b, &r) != nil || r.Usage.TotalTokens == 0 {
				t.Fatalf("answer %d has no usage: %s", i, b)
			}
		}
		if r1, a1 := streamsByFilter(t, g); r1 != r0 || a1 != a0 {
			t.Fatalf("ext_proc streams during fast requests: request filter %d, attempt filter %d", r1-r0, a1-a0)
		}
		d := settled(base, n)
		check(t, d, "listener", "go", map[string]uint64{"new": 0, "request_headers": n, "request_body": n, "request_trailers": 0,
			"response_headers": 0, "response_body": 0, "response_trailers": 0, "stream_complete": 0, "destroy": 0})
		check(t, d, "upstream", "go", map[string]uint64{"new": 0, "request_headers": n, "request_body": 0, "request_trailers": 0,
			"response_headers": 0, "response_body": n, "response_trailers": 0, "stream_complete": 0, "destroy": 0})
		// Envoy did call them: the C hooks answered.
		check(t, d, "listener", "calls", map[string]uint64{"new": n, "response_headers": n, "stream_complete": n, "destroy": n})
		check(t, d, "upstream", "calls", map[string]uint64{"new": n, "response_headers": n, "destroy": n})
		if d["upstream"]["calls"]["response_body"] < n || d["upstream"]["calls"]["request_body"] < n {
			t.Errorf("the try's body hooks were not called: %v", d["upstream"]["calls"])
		}
		// D134: the held answer's headers are not read again by Go (C read
		// the attempt count, status, content-type and content-length), the
		// quiet plan's record needs none of the provider's rate-limit
		// headers, and the answer's header operations are one call.
		for name, got := range d["callbacks"]["response_header_reads"] {
			if got != 0 {
				t.Errorf("Go read the answer's %s %d times for %d held answers, want 0 (all: %v)", name, got, n, d["callbacks"])
			}
		}
		if got := d["callbacks"]["response_header_ops"]["calls"]; got != n {
			t.Errorf("%d header-operation calls on %d answers, want one each (all: %v)", got, n, d["callbacks"])
		}
		// D153: none of the headers a fast try removes (the internal ones,
		// the router's, the client's accept-encoding, every provider's key
		// header) reaches the provider; the deployment's key does.
		seen := 0
		for _, r := range fake.Requests() {
			if r.Time.Before(from) || !strings.HasPrefix(r.Path, "/hk-a/") && !strings.HasPrefix(r.Path, "/hk-b/") {
				continue
			}
			seen++
			for _, h := range []string{"x-llmgate-group", "x-llmgate-cluster", "x-llmgate-module", "x-llmgate-fallback", "accept-encoding",
				"x-envoy-attempt-count", "x-envoy-expected-rq-timeout-ms", "api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key", "x-litellm-api-key"} {
				if v := r.Header.Get(h); v != "" {
					t.Errorf("the provider got %s: %q", h, v)
				}
			}
			if a := r.Header.Get("authorization"); a != "Bearer sk-hk-a" && a != "Bearer sk-hk-b" {
				t.Errorf("the provider got authorization %q", a)
			}
		}
		if seen < n {
			t.Errorf("the provider recorded %d requests of the group, want at least %d", seen, n)
		}
	})

	// D144: a success after a failed try is answered at its own try too,
	// with the plan entry of its attempt (the fallback's headers), and
	// recorded (not a first-try success: the record is written).
	t.Run("a fallback's success is answered at its try", func(t *testing.T) {
		time.Sleep(150 * time.Millisecond)
		base := readHookCounts(t, counts)
		st, h, b := post(t, url, master, `{"model":"down","messages":[{"role":"user","content":"hello"}]}`)
		if st != 200 || h.Get("x-litellm-model-group") != "hk" || h.Get("x-litellm-attempted-fallbacks") != "1" ||
			h.Get("x-litellm-model-id") == "" || h.Get("x-envoy-attempt-count") != "" || h.Get("content-length") != strconv.Itoa(len(b)) {
			t.Fatalf("the fallback's answer: %d %v %s", st, h, b)
		}
		var r struct {
			Model string `json:"model"`
		}
		if json.Unmarshal(b, &r) != nil || r.Model != "gpt-4o" {
			t.Errorf("the fallback's answer's model: %s", b)
		}
		d := settled(base, 1)
		check(t, d, "listener", "go", map[string]uint64{"response_headers": 0, "response_body": 0, "stream_complete": 0})
		if c, got := d["upstream"]["calls"]["new"], d["upstream"]["go"]["response_body"]; c != 2 || got != 1 {
			t.Errorf("%d tries, their response bodies entered Go %d times; want 2 tries, once at the success's end (all: %v)", c, got, d["upstream"])
		}
		if put := d["outcomes"]["records"]["put"]; put != 1 {
			t.Errorf("a fallback's success: %d outcome records written, want 1 (all: %v)", put, d["outcomes"])
		}
	})

	t.Run("a streamed answer: every event read by the listener filter, none by the try", func(t *testing.T) {
		time.Sleep(150 * time.Millisecond)
		base := readHookCounts(t, counts)
		for i := 0; i < n; i++ {
			st, _, b := post(t, url, master, `{"model":"hk","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}`)
			ev := sseEvents(b)
			if st != 200 || len(ev) < 3 || ev[len(ev)-1] != "[DONE]" || !strings.Contains(ev[len(ev)-2], `"total_tokens"`) {
				t.Fatalf("stream %d: %d %s", i, st, b)
			}
		}
		d := settled(base, n)
		check(t, d, "upstream", "go", map[string]uint64{"new": 0, "request_body": 0, "response_body": 0, "destroy": 0})
		if c, gone := d["listener"]["calls"]["response_body"], d["listener"]["go"]["response_body"]; c < n || gone != c {
			t.Errorf("listener response body: %d calls, %d entered Go; want every call in Go", c, gone)
		}
		if d["upstream"]["calls"]["response_body"] < n {
			t.Errorf("the try's response body hook was not called: %v", d["upstream"]["calls"])
		}
	})
}

// warmModule sends chat requests for model until one is served by the
// module alone (no request-filter stream opened for it), so that what a
// test counts next is the module's path.
func warmModule(t *testing.T, g *Gateway, url, model string) {
	t.Helper()
	for i := 0; ; i++ {
		r0, _ := streamsByFilter(t, g)
		if st, _, b := post(t, url, master, `{"model":"`+model+`","messages":[{"role":"user","content":"warm"}]}`); st != 200 {
			t.Fatalf("warm-up: %d %s", st, b)
		}
		if r1, _ := streamsByFilter(t, g); r1 == r0 {
			return
		}
		if i == 50 {
			t.Fatal("the module never served a request")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
