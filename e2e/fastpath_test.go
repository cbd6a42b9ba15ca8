package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/xds"
)

// extProcStreams is the number of ext_proc streams Envoy opened so far
// (request filter and attempt filters together), from its admin stats.
func extProcStreams(t *testing.T, g *Gateway) int {
	t.Helper()
	n := 0
	for _, m := range regexp.MustCompile(`streams_started: (\d+)`).FindAllStringSubmatch(adminGet(t, g, "/stats?filter=ext_proc.*streams_started"), -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

// failPath makes the fake provider answer status (with msg) to every
// request whose path starts with prefix, until its rules are cleared.
func failPath(t *testing.T, fake *fakeprovider.Server, prefix string, status int, msg string) {
	t.Helper()
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: prefix}, Fault: fakeprovider.Fault{Status: status, ErrorMessage: msg}}))
}

func adminGet(t *testing.T, g *Gateway, path string) string {
	t.Helper()
	c, base := adminClient(t, g)
	resp, err := c.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestFastPathSuccess (D45): a successful try on an OpenAI-compatible or
// Azure deployment opens no attempt ext_proc stream, and the client and the
// provider see what the attempt filter produced: the provider key (from an
// SDS secret that no config dump shows), the upstream path and host, no
// internal or client key header; the response restamped with the requested
// model (top level only) and LiteLLM's x-litellm-* headers.
func TestFastPathSuccess(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: fast
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/fp/v1, api_key: sk-fast-secret-1, organization: org-7}
    model_info: {id: fast-dep, input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: az
    litellm_params: {model: azure/gpt-4o-dep, api_base: %[1]s/az, api_key: az-secret-2, api_version: "2024-10-21"}
    model_info: {id: az-dep}
  - model_name: alias-target
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/al/v1, api_key: sk-alias-secret-3}
router_settings:
  num_retries: 0
  model_group_alias: {my-alias: alias-target}
general_settings:
  master_key: %[2]s
`, fake.URL(), master))

	send := func(model, path string) (int, http.Header, map[string]any) {
		t.Helper()
		code, h, b := post(t, g.URL+path, master, `{"model":"`+model+`","messages":[{"role":"user","content":"say \"model\": \"x\""}],"metadata":{"model":"nested-stays"}}`)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %d %s", model, code, b)
		}
		return code, h, m
	}
	before := extProcStreams(t, g)
	for i := 0; i < 3; i++ {
		fake.Reset()
		code, h, m := send("fast", "/v1/chat/completions")
		if code != 200 {
			t.Fatalf("fast: %d %v", code, m)
		}
		if m["model"] != "fast" {
			t.Errorf("response model = %v, want the requested name", m["model"])
		}
		// The scanner restamps the top-level key only: a "model": inside a string is left alone.
		if c, _ := m["choices"].([]any); len(c) == 0 || c[0].(map[string]any)["message"].(map[string]any)["content"] != fakeprovider.ReplyPrefix+`say "model": "x"` {
			t.Errorf("content changed: %v", m["choices"])
		}
		for k, want := range map[string]string{"x-litellm-model-id": "fast-dep", "x-litellm-model-group": "fast", "x-litellm-attempted-retries": "0",
			"x-litellm-attempted-fallbacks": "0", "x-litellm-model-api-base": fake.URL() + "/fp/v1", "x-litellm-max-retries": "0"} {
			if got := h.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		for _, k := range []string{"x-litellm-call-id", "x-litellm-response-duration-ms", "x-litellm-overhead-duration-ms", "x-litellm-response-cost"} {
			if h.Get(k) == "" {
				t.Errorf("%s missing: %v", k, h)
			}
		}
		for k := range h {
			if strings.HasPrefix(strings.ToLower(k), "x-envoy-attempt") || strings.HasPrefix(strings.ToLower(k), "x-llmgate") {
				t.Errorf("internal header %s reached the client", k)
			}
		}
		rec, ok := fake.Last()
		if !ok {
			t.Fatal("no upstream request")
		}
		if rec.Path != "/fp/v1/chat/completions" || rec.Header.Get("Authorization") != "Bearer sk-fast-secret-1" ||
			rec.Header.Get("Openai-Organization") != "org-7" || rec.Header.Get("Api-Key") != "" {
			t.Errorf("upstream: path %q headers %v", rec.Path, rec.Header)
		}
		for k := range rec.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-llmgate") || strings.HasPrefix(strings.ToLower(k), "x-envoy") || strings.EqualFold(k, "x-forwarded-for") {
				t.Errorf("header %s reached the provider", k)
			}
		}
		var up map[string]any
		_ = json.Unmarshal(rec.Body, &up)
		if up["model"] != "gpt-4o-mini" {
			t.Errorf("upstream model = %v", up["model"])
		}
	}
	// Azure: api-key, the deployment path with api-version; an alias restamps its own name.
	fake.Reset()
	if code, h, m := send("az", "/chat/completions"); code != 200 || m["model"] != "az" || h.Get("x-litellm-model-id") != "az-dep" {
		t.Errorf("azure: %d %v %v", code, m["model"], h)
	}
	rec, _ := fake.Last()
	if rec.Path != "/az/openai/deployments/gpt-4o-dep/chat/completions" || rec.Query != "api-version=2024-10-21" ||
		rec.Header.Get("Api-Key") != "az-secret-2" || rec.Header.Get("Authorization") != "" {
		t.Errorf("azure upstream: %s?%s %v", rec.Path, rec.Query, rec.Header)
	}
	if code, h, m := send("my-alias", "/v1/chat/completions"); code != 200 || m["model"] != "my-alias" || h.Get("x-litellm-model-group") != "my-alias" {
		t.Errorf("alias: %d %v group %q", code, m["model"], h.Get("x-litellm-model-group"))
	}
	if n := extProcStreams(t, g) - before; n != 5 {
		t.Errorf("%d ext_proc streams for 5 successful requests, want 5 (the request filter's only)", n)
	}
	// No provider key in any dump Envoy shows.
	dump := adminGet(t, g, "/config_dump?include_eds") + adminGet(t, g, "/clusters")
	for _, k := range []string{"sk-fast-secret-1", "az-secret-2", "sk-alias-secret-3"} {
		if strings.Contains(dump, k) {
			t.Errorf("provider key %s appears in Envoy's config dump", k)
		}
	}
	switch moduleUpstream(dump) {
	case true:
		// Module mode (D55): the module holds the keys; no secret, no cluster filters.
		if strings.Contains(dump, "llmgate_key_dep_") {
			t.Errorf("module mode: a key's SDS secret is in the config dump")
		}
	default:
		if !strings.Contains(dump, "llmgate_key_dep_fast-dep") {
			t.Errorf("the key's SDS secret is not in the config dump")
		}
	}
}

// TestFastPathErrors (D45): on fast-path clusters an error answer opens the
// attempt filter at the response (one stream per failing try, none per
// successful one) and every error semantic holds: the retry onto the next
// plan entry (D3), fallbacks with LiteLLM's headers, LiteLLM's error mapping
// with the group named (D17), the context-window redirect (D11), and the
// client gets the original group's error when every fallback failed.
func TestFastPathErrors(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startExtProcGateway(t, fmt.Sprintf(`
model_list:
  - model_name: fa
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/fa/v1, api_key: k-fa}
  - model_name: fb
    litellm_params: {model: azure/gpt-4o-mini, api_base: %[1]s/fb, api_key: k-fb}
  - model_name: solo
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/solo/v1, api_key: k-solo}
  - model_name: cw
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/cw/v1, api_key: k-cw}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/pa/v1, api_key: k-pa}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/pb/v1, api_key: k-pb}
router_settings:
  num_retries: 0
  fallbacks: [{"fa": ["fb"]}, {"solo": ["fa"]}]
  context_window_fallbacks: [{"cw": ["fb"]}]
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	fail := func(prefix string, status int, msg string) { t.Helper(); failPath(t, fake, prefix, status, msg) }
	streams := func(f func()) int {
		t.Helper()
		before := extProcStreams(t, g)
		f()
		return extProcStreams(t, g) - before
	}

	t.Run("a failing try falls back", func(t *testing.T) {
		fake.Reset()
		fake.ClearRules()
		fail("/fa/", 500, "fa is down")
		var r reply
		if n := streams(func() { r = send(g.URL, chatBody("fa", "hi")) }); n != 2 {
			t.Errorf("%d ext_proc streams, want 2 (request filter, the failing try's attempt filter)", n)
		}
		if r.code != 200 || r.servedBy() != "/fb" {
			t.Fatalf("%s served by %q", r, r.servedBy())
		}
		for k, want := range map[string]string{"x-litellm-attempted-fallbacks": "1", "x-litellm-attempted-retries": "0", "x-litellm-model-group": "fb"} {
			if got := r.hdr.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if fake.Count("/fa/") != 1 || fake.Count("/fb/") != 1 {
			t.Errorf("calls %v", fake.Counts())
		}
		rec, _ := fake.Last()
		if rec.Header.Get("Authorization") != "" || rec.Header.Get("Api-Key") != "k-fb" {
			t.Errorf("the fallback's request carries %v: the first try's key must not persist", rec.Header)
		}
	})

	t.Run("every fallback fails: the original error, mapped", func(t *testing.T) {
		fake.Reset()
		fake.ClearRules()
		fail("/solo/", 500, "solo is down")
		fail("/fa/", 429, "fa is busy")
		var r reply
		if n := streams(func() { r = send(g.URL, chatBody("solo", "hi")) }); n != 3 {
			t.Errorf("%d ext_proc streams, want 3 (request filter, two failing tries)", n)
		}
		var e struct {
			Error struct{ Message, Type, Code string } `json:"error"`
		}
		if err := json.Unmarshal(r.body, &e); err != nil || r.code != 500 {
			t.Fatalf("%s", r)
		}
		if !strings.HasPrefix(e.Error.Message, "litellm.") || !strings.Contains(e.Error.Message, "Received Model Group=solo") ||
			!strings.Contains(e.Error.Message, "Error doing the fallback") || e.Error.Code != "500" {
			t.Errorf("error = %+v", e.Error)
		}
		if fake.Count("/solo/") != 1 || fake.Count("/fa/") != 1 {
			t.Errorf("calls %v", fake.Counts())
		}
	})

	t.Run("context-window error redirects to its fallback", func(t *testing.T) {
		fake.Reset()
		fake.ClearRules()
		fail("/cw/", 400, "This model's maximum context length is 8192 tokens")
		var r reply
		if n := streams(func() { r = send(g.URL, chatBody("cw", "hi")) }); n != 3 {
			t.Errorf("%d ext_proc streams, want 3 (request filter twice, the failing try)", n)
		}
		if r.code != 200 || r.servedBy() != "/fb" {
			t.Fatalf("%s served by %q", r, r.servedBy())
		}
		if fake.Count("/cw/") != 1 || fake.Count("/fb/") != 1 {
			t.Errorf("calls %v", fake.Counts())
		}
	})

	t.Run("a group of two retries onto the other deployment", func(t *testing.T) {
		fake.ClearRules()
		fail("/pa/", 503, "pa is down")
		for i := 0; i < 6; i++ {
			fake.Reset()
			r := send(g.URL, chatBody("pair", "hi", `"num_retries":1`))
			if r.code != 200 || r.servedBy() != "/pb" {
				t.Fatalf("%s served by %q", r, r.servedBy())
			}
			if fake.Count("/pa/") == 1 && r.hdr.Get("x-litellm-attempted-retries") != "1" {
				t.Errorf("x-litellm-attempted-retries = %q after a retry", r.hdr.Get("x-litellm-attempted-retries"))
			}
		}
	})
}

// TestFastPathResetAfterHeaders (D45, D6): a fast-path try whose connection
// drops after its response headers, before the body is whole, is retried on
// the next plan entry: the client never sees the broken answer.
func TestFastPathResetAfterHeaders(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startExtProcGateway(t, fmt.Sprintf(`
model_list:
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/ra/v1, api_key: k-ra}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/rb/v1, api_key: k-rb}
router_settings:
  num_retries: 1
  disable_cooldowns: true
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/ra/"}, Fault: fakeprovider.Fault{CutAfter: 20}}))
	before := extProcStreams(t, g)
	for i := 0; i < 8; i++ {
		if r := send(g.URL, chatBody("pair", "hi")); r.code != 200 || r.servedBy() != "/rb" {
			t.Fatalf("request %d: %s served by %q", i, r, r.servedBy())
		}
	}
	if fake.Count("/ra/") == 0 {
		t.Errorf("the cut deployment was never tried: %v", fake.Counts())
	}
	if n := extProcStreams(t, g) - before; n != 8 {
		t.Errorf("%d ext_proc streams for 8 requests, want 8: the fast path was not taken", n)
	}
}

// TestFastPathMixedPlans (D45): a plan that mixes fast-path and translated
// deployments (a group of both, fallbacks fast → translated → fast) takes
// the full attempt filter on every try, fast-path clusters included, with
// every semantic intact; a plan of fast-path deployments only, in the same
// config, still takes the fast path.
func TestFastPathMixedPlans(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startExtProcGateway(t, fmt.Sprintf(`
model_list:
  - model_name: mix
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/mx/v1, api_key: k-mx}
  - model_name: mix
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: %[1]s, api_key: k-ant}
  - model_name: f1
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/f1/v1, api_key: k-f1}
  - model_name: f2
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: %[1]s, api_key: k-f2}
  - model_name: f3
    litellm_params: {model: azure/gpt-4o-mini, api_base: %[1]s/f3, api_key: k-f3}
  - model_name: only-fast
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/of/v1, api_key: k-of}
router_settings:
  num_retries: 0
  # Failures here are the point: none may cool a deployment down for the
  # next subtest (4 failures of one deployment would, with LiteLLM's 3).
  allowed_fails: 1000
  fallbacks: [{"f1": ["f2", "f3"]}]
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	const anthropicPath = "/v1/messages"
	fail := func(prefix string, status int) { t.Helper(); failPath(t, fake, prefix, status, "down") }
	streams := func(f func()) int {
		t.Helper()
		before := extProcStreams(t, g)
		f()
		return extProcStreams(t, g) - before
	}

	t.Run("a group of a fast-path and a translated deployment retries across both", func(t *testing.T) {
		for _, down := range []string{"/mx/", anthropicPath} {
			fake.ClearRules()
			fail(down, 500)
			for i := 0; i < 4; i++ {
				fake.Reset()
				var r reply
				n := streams(func() { r = send(g.URL, chatBody("mix", "hi", `"num_retries":1`)) })
				if r.code != 200 {
					t.Fatalf("%s down: %s", down, r)
				}
				var m map[string]any
				_ = json.Unmarshal(r.body, &m)
				if m["model"] != "mix" {
					t.Errorf("response model = %v", m["model"])
				}
				if calls := len(fake.Requests()); n != 1+calls {
					t.Errorf("%d ext_proc streams for %d tries: a mixed plan takes the full attempt filter on every try", n, calls)
				}
				for _, rec := range fake.Requests() {
					if strings.HasPrefix(rec.Path, "/mx/") && (rec.Header.Get("Authorization") != "Bearer k-mx" || rec.Header.Get("X-Api-Key") != "") {
						t.Errorf("openai try headers %v", rec.Header)
					}
					if rec.Path == anthropicPath && (rec.Header.Get("X-Api-Key") != "k-ant" || rec.Header.Get("Authorization") != "") {
						t.Errorf("anthropic try headers %v", rec.Header)
					}
				}
			}
		}
	})

	t.Run("fallbacks fast → translated → fast", func(t *testing.T) {
		fake.ClearRules()
		fake.Reset()
		fail("/f1/", 503)
		fail(anthropicPath, 529)
		r := send(g.URL, chatBody("f1", "hi"))
		if r.code != 200 || r.servedBy() != "/f3" {
			t.Fatalf("%s served by %q", r, r.servedBy())
		}
		if r.hdr.Get("x-litellm-attempted-fallbacks") != "2" || r.hdr.Get("x-litellm-model-group") != "f3" {
			t.Errorf("headers %v", r.hdr)
		}
		var order []string
		for _, rec := range fake.Requests() {
			order = append(order, rec.Path)
		}
		if len(order) != 3 || !strings.HasPrefix(order[0], "/f1/") || order[1] != anthropicPath || !strings.HasPrefix(order[2], "/f3/") {
			t.Errorf("provider saw %v", order)
		}
		last, _ := fake.Last()
		if last.Header.Get("Api-Key") != "k-f3" || last.Header.Get("Authorization") != "" || last.Header.Get("X-Api-Key") != "" {
			t.Errorf("the last fallback carries another try's key: %v", last.Header)
		}
	})

	t.Run("a fast-only plan in the same config takes the fast path", func(t *testing.T) {
		fake.ClearRules()
		fake.Reset()
		var r reply
		if n := streams(func() { r = send(g.URL, chatBody("only-fast", "hi")) }); n != 1 || r.code != 200 {
			t.Errorf("%s with %d ext_proc streams, want 1", r, n)
		}
	})
}

// TestFastPathManyDeployments (D45): above xds.FastPathLuaMax fast-path
// deployments the clusters have no Lua filter (one Lua VM per cluster and
// worker); a plan of one attempt is still fast, its path and host set by
// the request filter, and a plan of several takes the full attempt filter.
func TestFastPathManyDeployments(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	var b strings.Builder
	b.WriteString("model_list:\n")
	for i := 0; i < xds.FastPathLuaMax+1; i++ {
		fmt.Fprintf(&b, "  - model_name: g%d\n    litellm_params: {model: openai/gpt-4o-mini, api_base: %s/m%d/v1, api_key: k-%d}\n", i/2, fake.URL(), i, i)
	}
	fmt.Fprintf(&b, "router_settings:\n  num_retries: 0\n  disable_cooldowns: true\ngeneral_settings:\n  master_key: %s\n", master)
	g := startExtProcGateway(t, b.String())
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/m0/"}, Fault: fakeprovider.Fault{Status: 500, ErrorMessage: "down"}}))
	before := extProcStreams(t, g)
	r := send(g.URL, chatBody("g1", "hi")) // g1 = m2, m3: num_retries 0 → one attempt
	if r.code != 200 {
		t.Fatalf("%s", r)
	}
	if n := extProcStreams(t, g) - before; n != 1 {
		t.Errorf("%d ext_proc streams for a one-attempt plan, want 1", n)
	}
	rec, _ := fake.Last()
	if (rec.Path != "/m2/v1/chat/completions" && rec.Path != "/m3/v1/chat/completions") || !strings.HasPrefix(rec.Header.Get("Authorization"), "Bearer k-") {
		t.Errorf("upstream %s %v", rec.Path, rec.Header)
	}
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	if m["model"] != "g1" || r.hdr.Get("x-litellm-model-group") != "g1" {
		t.Errorf("model %v, group %q", m["model"], r.hdr.Get("x-litellm-model-group"))
	}
	before = extProcStreams(t, g)
	fake.Reset()
	r = send(g.URL, chatBody("g0", "hi", `"num_retries":1`)) // m0 fails, m1 answers, in either order
	if r.code != 200 || r.servedBy() != "/m1" {
		t.Fatalf("%s served by %q", r, r.servedBy())
	}
	if n, calls := extProcStreams(t, g)-before, len(fake.Requests()); n != 1+calls {
		t.Errorf("%d ext_proc streams for %d tries: a plan of two takes the full attempt filter", n, calls)
	}
}
