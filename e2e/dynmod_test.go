package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// moduleArgs runs `llmgate run` with the in-Envoy request filter (D53).
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

// TestRequestModuleLoads (D53): with --request-filter=module Envoy loads
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

// TestRequestModuleRefused (D53): with an explicit --request-filter=module
// llmgate does not run a module Envoy does not confirm: a missing file, a
// file that is no shared library, and a module that claims another ABI
// version (Envoy loads it with a warning only) end the run with an error
// (the default falls back to ext_proc instead: TestRequestFilterDefault).
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
	t.Run("not_a_library", func(t *testing.T) {
		lib := filepath.Join(t.TempDir(), "libllmgate.so")
		must(t, os.WriteFile(lib, []byte("not a shared library\n"), 0o600))
		if out := run(t, lib); !strings.Contains(out, "Failed to load dynamic module") || strings.Contains(out, fallbackWarning) {
			t.Fatalf("output: %s", out)
		}
	})
	t.Run("other_abi", func(t *testing.T) {
		out := run(t, otherABIModule(t))
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

// TestRequestModulePanicContained (D53): a Go panic inside a module hook
// (a module built to panic on one path) is an OpenAI-format 500 for that
// request; Envoy keeps serving every other request.
func TestRequestModulePanicContained(t *testing.T) {
	lib := filepath.Join(t.TempDir(), "libllmgate.so")
	if out, err := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags", "-X main.panicOnPath=/v1/chat/completions?panic=1", "-o", lib, "../dynmod").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, moduleConfig(fake.URL(), ""), []string{"--request-filter=module", "--dynamic-module", lib})
	waitLog(t, g, "llmgate module: config")
	for i := 0; i < 3; i++ {
		code, _, b := post(t, g.URL+"/v1/chat/completions?panic=1", master, chatBody("gpt", "boom"))
		if code != 500 || !strings.Contains(string(b), `"type":"internal_server_error"`) {
			t.Fatalf("panicking request: %d %s", code, b)
		}
		if code, _, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("gpt", "fine")); code != 200 {
			t.Fatalf("the next request: %d %s", code, b)
		}
	}
	if !strings.Contains(g.Stderr(), "panic in a request hook") {
		t.Errorf("the panic was not logged")
	}
}

// requestFilterStreams is the number of ext_proc streams Envoy opened for the
// request filter (the listener's; attempt filters count in their clusters).
func requestFilterStreams(t *testing.T, g *Gateway) int {
	t.Helper()
	out := adminGet(t, g, "/stats?filter=^http%5C.llmgate%5C.ext_proc%5C.streams_started$")
	_, v, ok := strings.Cut(strings.TrimSpace(out), ": ")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("stats: %q", out)
	}
	return n
}

// moduleConfig is TestRequestModuleServes's config.
func moduleConfig(fake string, extra string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/ga/v1, api_key: sk-a}
    model_info: {id: ga}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/gb/v1, api_key: sk-b}
    model_info: {id: gb}
  - model_name: solo
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/solo/v1, api_key: sk-s}
    model_info: {id: solo}
  - model_name: "wild/*"
    litellm_params: {model: "openai/*", api_base: %[1]s/w/v1, api_key: sk-w}
  - model_name: emb
    litellm_params: {model: openai/text-embedding-3-small, api_base: %[1]s/e/v1, api_key: sk-e}
%[3]srouter_settings:
  num_retries: 1
  allowed_fails: 1
  cooldown_time: 3
  model_group_alias: {my-gpt: gpt}
  fallbacks: [{solo: [gpt]}]
general_settings:
  master_key: %[2]s
`, fake, master, extra)
}

// TestRequestModuleServes (D53): the module serves the common request in
// Envoy (no ext_proc request-filter stream) and answers it as the ext_proc
// filter does (a second gateway without the module, same config, side by
// side): success with every x-litellm-* header, an alias, embeddings, 401
// without a key; a retry onto the other deployment, a fallback; a cooldown
// hands the group to ext_proc until it ends; a virtual key is served from
// the pushed key table (D57); a bad key, mock_response, a wildcard and an unknown model are handed to ext_proc and
// answered as without the module; a hot reload reaches the module.
func TestRequestModuleServes(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := moduleConfig(fake.URL(), "")
	mod := startGatewayArgs(t, cfg, moduleArgs)
	ext := startGatewayArgs(t, cfg, []string{"--request-filter=extproc"})
	waitLog(t, mod, "llmgate module: config")

	type answer struct {
		code int
		hdr  http.Header
		body []byte
		// served: the module answered (no request-filter stream)
		served bool
	}
	call := func(g *Gateway, path, key, body string) answer {
		t.Helper()
		before := requestFilterStreams(t, g)
		code, h, b := postWith(t, g.URL+path, key, body)
		return answer{code, h, b, requestFilterStreams(t, g) == before}
	}
	litellmHeaders := func(h http.Header) map[string]string {
		out := map[string]string{}
		for k := range h {
			k = strings.ToLower(k)
			switch k {
			case "x-litellm-call-id", "x-litellm-response-duration-ms", "x-litellm-overhead-duration-ms", "x-litellm-model-id", "x-litellm-model-api-base":
				out[k] = "(varies)"
			default:
				if strings.HasPrefix(k, "x-litellm-") {
					out[k] = h.Get(k)
				}
			}
			if strings.HasPrefix(k, "x-llmgate") {
				t.Errorf("internal header %s reached the client", k)
			}
		}
		return out
	}
	model := func(b []byte) string {
		var m struct {
			Model string `json:"model"`
		}
		_ = json.Unmarshal(b, &m)
		return m.Model
	}
	same := func(what string, a, b answer, wantServed bool, exactBody bool) {
		t.Helper()
		if a.served != wantServed {
			t.Errorf("%s: served by the module = %v, want %v", what, a.served, wantServed)
		}
		if b.served {
			t.Errorf("%s: the gateway without the module opened no request-filter stream", what)
		}
		if a.code != b.code {
			t.Fatalf("%s: status %d with the module, %d without\n%s\n%s", what, a.code, b.code, a.body, b.body)
		}
		if exactBody && string(a.body) != string(b.body) {
			t.Errorf("%s: body with the module %s, without %s", what, a.body, b.body)
		}
		if !exactBody && model(a.body) != model(b.body) {
			t.Errorf("%s: model with the module %q, without %q", what, model(a.body), model(b.body))
		}
		ha, hb := litellmHeaders(a.hdr), litellmHeaders(b.hdr)
		if fmt.Sprint(ha) != fmt.Sprint(hb) {
			t.Errorf("%s: x-litellm-* headers with the module %v, without %v", what, ha, hb)
		}
	}
	both := func(what, path, key, body string, wantServed, exactBody bool) answer {
		t.Helper()
		a, b := call(mod, path, key, body), call(ext, path, key, body)
		same(what, a, b, wantServed, exactBody)
		return a
	}
	chat := "/v1/chat/completions"

	for i := 0; i < 4; i++ {
		if a := both("chat", chat, master, chatBody("gpt", "hi"), true, false); a.code != 200 || model(a.body) != "gpt" {
			t.Fatalf("chat: %d %s", a.code, a.body)
		}
	}
	both("alias", chat, master, chatBody("my-gpt", "hi"), true, false)
	both("stream false", chat, master, chatBody("gpt", "hi", `"stream":false`, `"temperature":0.2`), true, false)
	both("stream", chat, master, chatBody("gpt", "hi", `"stream":true`, `"stream_options":{"include_usage":true}`), true, false)
	both("embeddings", "/v1/embeddings", master, `{"model":"emb","input":"hello"}`, true, false)
	both("no key", chat, "", chatBody("gpt", "hi"), true, true)
	both("bad key", chat, "sk-wrong-key", chatBody("gpt", "hi"), false, true)
	both("mock_response", chat, master, chatBody("gpt", "hi", `"mock_response":"mocked!"`), false, false)
	both("wildcard", chat, master, chatBody("wild/gpt-4o", "hi"), false, false)
	both("unknown model", chat, master, chatBody("nope", "hi"), false, true)
	both("client fallbacks", chat, master, chatBody("gpt", "hi", `"fallbacks":["solo"]`), false, false)

	// A virtual key: served from the key table the gateway pushed (D57,
	// TestModuleVirtualKeys).
	vk, _ := keyAPI{t, mod}.generate(`{"models":["gpt"]}`)
	waitModuleKnowsKey(t, mod, vk, "emb")
	if a := call(mod, chat, vk, chatBody("gpt", "hi")); a.code != 200 || !a.served {
		t.Errorf("virtual key: %d served=%v %s", a.code, a.served, a.body)
	}

	// A fallback: solo fails (a single deployment never cools down).
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/solo/"}, Fault: fakeprovider.Fault{Status: 500}}))
	if a := both("fallback", chat, master, chatBody("solo", "hi"), true, false); a.code != 200 || a.hdr.Get("x-litellm-attempted-fallbacks") != "1" {
		t.Errorf("fallback: %d %v %s", a.code, a.hdr, a.body)
	}
	fake.ClearRules()

	// A retry onto the other deployment, then the failing one cools down
	// (allowed_fails: 1): the module hands gpt to ext_proc while it cools,
	// and serves it again once the cooldown ends.
	fake.Reset()
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/ga/"}, Fault: fakeprovider.Fault{Status: 500}}))
	waitForMinuteLeft(10 * time.Second)
	mark := logMark(mod)
	retried := false
	for i := 0; i < 40 && fake.Count("/ga/") < 2; i++ {
		a := call(mod, chat, master, chatBody("gpt", "r"+strconv.Itoa(i)))
		if a.code != 200 || a.hdr.Get("x-litellm-model-id") != "gb" {
			t.Fatalf("retry: %d %s %v", a.code, a.body, a.hdr)
		}
		retried = retried || a.hdr.Get("x-litellm-attempted-retries") == "1"
	}
	if !retried || fake.Count("/ga/") < 2 {
		t.Fatalf("no retry onto the other deployment (ga tried %d times)", fake.Count("/ga/"))
	}
	until := waitCooling(t, mod, "gpt", mark)
	cooled := fake.Count("/ga/")
	// Only answers that ended before the cooldown's end (3 s) are checked:
	// on a loaded machine the wait may use part of it.
	checked := 0
	for i := 0; i < 6; i++ {
		a := call(mod, chat, master, chatBody("gpt", "c"+strconv.Itoa(i)))
		if !time.Now().Before(until) {
			break
		}
		checked++
		if a.code != 200 || a.served {
			t.Errorf("during the cooldown: %d served by the module = %v", a.code, a.served)
		}
		if got := fake.Count("/ga/"); got != cooled {
			t.Errorf("the cooling deployment got %d requests", got-cooled)
		}
	}
	if checked == 0 {
		t.Fatalf("the cooldown (until %s) was over before a request could be checked", until.Format(time.RFC3339Nano))
	}
	fake.ClearRules()
	// Once the cooldown is over the module serves gpt again (each request
	// reads the cooldown's end in the module's table: no new table).
	time.Sleep(time.Until(until))
	var back answer
	for deadline := time.Now().Add(cooldownWait); ; time.Sleep(100 * time.Millisecond) {
		if back = call(mod, chat, master, chatBody("gpt", "back")); back.code == 200 && back.served || time.Now().After(deadline) {
			break
		}
	}
	if back.code != 200 || !back.served {
		t.Errorf("after the cooldown: %d served by the module = %v", back.code, back.served)
	}

	// Hot reload: a new group is served by the module once it arrives.
	mod.WriteConfig(moduleConfig(fake.URL(), `  - model_name: added
    litellm_params: {model: openai/gpt-4o-mini, api_base: `+fake.URL()+`/added/v1, api_key: sk-n}
`))
	var a answer
	for i := 0; i < 100; i++ {
		if a = call(mod, chat, master, chatBody("added", "new")); a.code == 200 && a.served {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a.code != 200 || !a.served || model(a.body) != "added" {
		t.Errorf("after a reload: %d served by the module = %v %s", a.code, a.served, a.body)
	}
}

// TestRouterSemanticsModule (D53) runs the router-semantics tests again with
// every gateway on --request-filter=module: retries, cooldowns, fallbacks of
// every kind, weights, wildcards, virtual keys, LiteLLM's headers, hot
// reload, the security checks, with the module serving what it can and
// handing the rest to ext_proc. (The module is the default, D56: the whole
// suite runs so, but for the tests that pin ext_proc to count its streams,
// extProcArgs.)
func TestRouterSemanticsModule(t *testing.T) {
	t.Setenv("LLMGATE_REQUEST_FILTER", "module")
	runRouterSemantics(t)
}

// TestRouterSemanticsExtProc (D56) runs the same tests with every gateway on
// --request-filter=extproc, so both request filters stay proved.
func TestRouterSemanticsExtProc(t *testing.T) {
	t.Setenv("LLMGATE_REQUEST_FILTER", "extproc")
	runRouterSemantics(t)
}

func runRouterSemantics(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"TestRouterFailures", TestRouterFailures},
		{"TestRouterFallbacks", TestRouterFallbacks},
		{"TestRouterWeightedShuffle", TestRouterWeightedShuffle},
		{"TestProviderErrorFallbacks", TestProviderErrorFallbacks},
		{"TestFoundation", TestFoundation},
		{"TestHotReload", TestHotReload},
		{"TestLiteLLMRequestHeaders", TestLiteLLMRequestHeaders},
		{"TestCatchAllWildcard", TestCatchAllWildcard},
		{"TestVirtualKeysEmbedded", TestVirtualKeysEmbedded},
		{"TestFastPathSuccess", TestFastPathSuccess},
		{"TestRepliesAreOpenAIJSON", TestRepliesAreOpenAIJSON},
		{"TestNoInternalHeadersReachClients", TestNoInternalHeadersReachClients},
		{"TestDuplicateKeysRefused", TestDuplicateKeysRefused},
		{"TestClientKnobsBounded", TestClientKnobsBounded},
		// The response side in the module, no listener Lua (D54).
		{"TestResponseModelName", TestResponseModelName},
		{"TestStreamUsage", TestStreamUsage},
	} {
		t.Run(tc.name, tc.fn)
	}
}
