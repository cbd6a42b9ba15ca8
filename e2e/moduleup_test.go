package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/xds"
)

// moduleUpstream reports whether a config dump shows module mode's shared
// upstream filters (D55): the module in the router's upstream_http_filters.
func moduleUpstream(dump string) bool {
	return strings.Contains(dump, `"filter_name": "llmgate_upstream"`)
}

// streamsByFilter counts the ext_proc streams Envoy opened so far: the
// listener's request filter, and module mode's shared attempt filter (its
// stats prefixed xds.AttemptStatPrefix).
func streamsByFilter(t *testing.T, g *Gateway) (request, attempt int) {
	t.Helper()
	b := adminGet(t, g, "/stats?filter=ext_proc.*streams_started")
	for _, m := range regexp.MustCompile(`(\S+): (\d+)`).FindAllStringSubmatch(b, -1) {
		v, _ := strconv.Atoi(m[2])
		switch {
		case strings.HasSuffix(m[1], "ext_proc."+xds.AttemptStatPrefix+".streams_started"):
			attempt += v
		case m[1] == "http.llmgate.ext_proc.streams_started":
			request += v
		default:
			t.Errorf("ext_proc stream counter %s: neither the request filter nor the shared attempt filter", m[1])
		}
	}
	return request, attempt
}

// TestModuleUpstream (D55): with --request-filter=module every deployment
// cluster is bare and the router's one upstream filter chain serves every
// try: the module sets a fast try's path, host and provider key (keys in no
// config dump, no SDS secret), removes internal and other providers' key
// headers, holds a success until its body is whole; the shared attempt
// filter starts only on a 4xx/5xx of a fast try, and on every try of a plan
// that needs it (translated or mixed), naming the deployment by the try's
// cluster — or, on the one cluster of the fast-path deployments' upstream
// host (D62), by the plan's entry for the try. Retries onto the other deployment, fallbacks fast → translated →
// fast and translated → fast, cooldowns and a plan of two above
// xds.FastPathLuaMax all hold.
func TestModuleUpstream(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	var b strings.Builder
	fmt.Fprintf(&b, `
model_list:
  - model_name: fast
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/fp/v1, api_key: sk-mu-fast-1, organization: org-9}
    model_info: {id: fast-dep}
  - model_name: az
    litellm_params: {model: azure/gpt-4o-dep, api_base: %[1]s/az, api_key: az-mu-secret-2, api_version: "2024-10-21"}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/pa/v1, api_key: k-mu-pa}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/pb/v1, api_key: k-mu-pb}
  - model_name: cut
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/ca/v1, api_key: k-mu-ca}
  - model_name: cut
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/cb/v1, api_key: k-mu-cb}
  - model_name: f1
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/f1/v1, api_key: k-mu-f1}
  - model_name: f2
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: %[1]s, api_key: k-mu-f2}
  - model_name: f3
    litellm_params: {model: azure/gpt-4o-mini, api_base: %[1]s/f3, api_key: k-mu-f3}
  - model_name: t1
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: %[1]s, api_key: k-mu-t1}
  - model_name: t4
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/t4/v1, api_key: k-mu-t4}
  - model_name: oa
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/oa/v1, api_key: k-mu-oa}
  - model_name: ob
    litellm_params: {model: azure/gpt-4o-mini, api_base: %[1]s/ob, api_key: k-mu-ob}
  - model_name: cool
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/ka/v1, api_key: k-mu-ka}
    model_info: {id: cool-a}
  - model_name: cool
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/kb/v1, api_key: k-mu-kb}
    model_info: {id: cool-b}
`, fake.URL())
	// Above xds.FastPathLuaMax fast-path deployments: no per-cluster Lua
	// before, so only one-attempt plans were fast; the module sets every try.
	for i := 0; i < xds.FastPathLuaMax; i++ {
		fmt.Fprintf(&b, "  - model_name: many%d\n    litellm_params: {model: openai/gpt-4o-mini, api_base: %s/m%d/v1, api_key: k-mu-m%d}\n", i/2, fake.URL(), i, i)
	}
	fmt.Fprintf(&b, `router_settings:
  num_retries: 0
  allowed_fails: 1000
  fallbacks: [{"f1": ["f2", "f3"]}, {"t1": ["t4"]}, {"oa": ["ob"]}]
general_settings:
  master_key: %s
`, master)
	g := startGatewayArgs(t, b.String(), moduleArgs)
	fail := func(prefix string, status int) { t.Helper(); failPath(t, fake, prefix, status, "down") }
	streams := func(f func()) (request, attempt int) {
		t.Helper()
		r0, a0 := streamsByFilter(t, g)
		f()
		r1, a1 := streamsByFilter(t, g)
		return r1 - r0, a1 - a0
	}
	const anthropicPath = "/v1/messages"

	t.Run("bare clusters, one upstream chain, no key in Envoy's config", func(t *testing.T) {
		dump := adminGet(t, g, "/config_dump?include_eds")
		if !moduleUpstream(dump) {
			t.Fatalf("the router's upstream filters have no llmgate_upstream module")
		}
		// The module's tries remove the listener's marker (D105): no
		// header-mutation filter built for every request does it.
		if strings.Contains(dump, "llmgate.module_unmark") {
			t.Errorf("the listener still has the marker's removal filter")
		}
		var cd struct {
			Configs []json.RawMessage `json:"configs"`
		}
		if err := json.Unmarshal([]byte(adminGet(t, g, "/config_dump?resource=dynamic_active_clusters")), &cd); err != nil {
			t.Fatal(err)
		}
		n, hosts := 0, 0
		for _, c := range cd.Configs {
			if !strings.Contains(string(c), `"name": "dep_`) && !strings.Contains(string(c), `"name":"dep_`) {
				continue
			}
			n++
			if strings.Contains(string(c), contract.HostClusterPrefix) {
				hosts++
			}
			if strings.Contains(string(c), "http_filters") {
				t.Errorf("a deployment cluster has upstream filters of its own: %.300s", c)
				break
			}
		}
		// More than xds.FastPathLuaMax fast-path deployments on the fake
		// provider: one cluster for its host (D62), beside the translated
		// deployments' own.
		if hosts != 1 || n > 10 {
			t.Errorf("%d deployment clusters in the dump, %d of them hosts', want one host's and the translated deployments'", n, hosts)
		}
		if s := adminGet(t, g, "/config_dump?resource=dynamic_active_secrets"); strings.Contains(s, "llmgate_key_") {
			t.Errorf("module mode pushes SDS secrets: %.300s", s)
		}
		for _, k := range []string{"sk-mu-fast-1", "az-mu-secret-2", "k-mu-pa", "k-mu-f2", "k-mu-m7"} {
			if strings.Contains(dump, k) {
				t.Errorf("provider key %s appears in Envoy's config dump", k)
			}
		}
	})

	t.Run("a fast try served by the module: path, host, key, no internal header", func(t *testing.T) {
		for _, tc := range []struct{ model, path, hdr, key, none string }{
			{"fast", "/fp/v1/chat/completions", "Authorization", "Bearer sk-mu-fast-1", "Api-Key"},
			{"az", "/az/openai/deployments/gpt-4o-dep/chat/completions", "Api-Key", "az-mu-secret-2", "Authorization"},
		} {
			fake.Reset()
			var r reply
			req, att := streams(func() { r = send(g.URL, chatBody(tc.model, "hi")) })
			if r.code != 200 {
				t.Fatalf("%s: %s", tc.model, r)
			}
			if req != 0 || att != 0 {
				t.Errorf("%s: %d request-filter and %d attempt-filter streams, want none (module, fast path)", tc.model, req, att)
			}
			var m map[string]any
			_ = json.Unmarshal(r.body, &m)
			if m["model"] != tc.model {
				t.Errorf("%s: response model %v", tc.model, m["model"])
			}
			rec, _ := fake.Last()
			if rec.Path != tc.path || rec.Header.Get(tc.hdr) != tc.key || rec.Header.Get(tc.none) != "" || rec.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s upstream: %s %v", tc.model, rec.Path, rec.Header)
			}
			if tc.model == "fast" && rec.Header.Get("Openai-Organization") != "org-9" {
				t.Errorf("organization header missing: %v", rec.Header)
			}
			if tc.model == "az" && rec.Query != "api-version=2024-10-21" {
				t.Errorf("azure query %q", rec.Query)
			}
			for k := range rec.Header {
				if l := strings.ToLower(k); strings.HasPrefix(l, "x-llmgate") || strings.HasPrefix(l, "x-envoy") || l == "accept-encoding" {
					t.Errorf("%s: header %s reached the provider", tc.model, k)
				}
			}
			for k := range r.hdr {
				if strings.HasPrefix(strings.ToLower(k), "x-llmgate") {
					t.Errorf("internal header %s reached the client", k)
				}
			}
		}
	})

	t.Run("a failing try is retried on the other deployment with its own key", func(t *testing.T) {
		fake.ClearRules()
		fail("/pa/", 500)
		for i := 0; i < 6; i++ {
			fake.Reset()
			var r reply
			req, att := streams(func() { r = send(g.URL, chatBody("pair", "hi", `"num_retries":1`)) })
			if r.code != 200 || r.servedBy() != "/pb" {
				t.Fatalf("%s served by %q", r, r.servedBy())
			}
			failed := int(fake.Count("/pa/"))
			if req != 1 || att != failed {
				// num_retries in the body hands the request to ext_proc (one
				// request-filter stream); the attempt filter runs on the
				// failing try only.
				t.Errorf("%d request-filter, %d attempt-filter streams for %d failing tries", req, att, failed)
			}
			for _, rec := range fake.Requests() {
				want := "Bearer k-mu-pb"
				if strings.HasPrefix(rec.Path, "/pa/") {
					want = "Bearer k-mu-pa"
				}
				if rec.Header.Get("Authorization") != want {
					t.Errorf("%s got key %q, want %q", rec.Path, rec.Header.Get("Authorization"), want)
				}
			}
			if r.hdr.Get("x-litellm-model-api-base") != fake.URL()+"/pb/v1" {
				t.Errorf("headers of the try that answered: %v", r.hdr)
			}
		}
	})

	t.Run("a fallback to another provider carries only its own key", func(t *testing.T) {
		fake.ClearRules()
		fake.Reset()
		fail("/oa/", 503)
		var r reply
		_, att := streams(func() { r = send(g.URL, chatBody("oa", "hi")) })
		if r.code != 200 || r.servedBy() != "/ob" || r.hdr.Get("x-litellm-attempted-fallbacks") != "1" {
			t.Fatalf("%s served by %q %v", r, r.servedBy(), r.hdr)
		}
		if att != 1 {
			t.Errorf("%d attempt-filter streams, want 1 (the failing try)", att)
		}
		last, _ := fake.Last()
		if last.Header.Get("Api-Key") != "k-mu-ob" || last.Header.Get("Authorization") != "" {
			t.Errorf("the azure fallback carries another try's key: %v", last.Header)
		}
	})

	t.Run("fallbacks fast → translated → fast, and translated → fast", func(t *testing.T) {
		fake.ClearRules()
		fake.Reset()
		fail("/f1/", 503)
		fail(anthropicPath, 529)
		var r reply
		_, att := streams(func() { r = send(g.URL, chatBody("f1", "hi")) })
		if r.code != 200 || r.servedBy() != "/f3" || r.hdr.Get("x-litellm-attempted-fallbacks") != "2" || r.hdr.Get("x-litellm-model-group") != "f3" {
			t.Fatalf("%s served by %q %v", r, r.servedBy(), r.hdr)
		}
		var order []string
		for _, rec := range fake.Requests() {
			order = append(order, rec.Path)
			switch {
			case strings.HasPrefix(rec.Path, "/f1/") && rec.Header.Get("Authorization") != "Bearer k-mu-f1",
				rec.Path == anthropicPath && (rec.Header.Get("X-Api-Key") != "k-mu-f2" || rec.Header.Get("Authorization") != ""),
				strings.HasPrefix(rec.Path, "/f3/") && (rec.Header.Get("Api-Key") != "k-mu-f3" || rec.Header.Get("Authorization") != "" || rec.Header.Get("X-Api-Key") != ""):
				t.Errorf("%s headers %v", rec.Path, rec.Header)
			}
		}
		noInternalHeaders(t, fake)
		if len(order) != 3 || !strings.HasPrefix(order[0], "/f1/") || order[1] != anthropicPath || !strings.HasPrefix(order[2], "/f3/") {
			t.Errorf("provider saw %v", order)
		}
		if att != 3 {
			t.Errorf("%d attempt-filter streams for a mixed plan of 3 tries, want 3 (the full attempt filter on every try)", att)
		}
		var m map[string]any
		_ = json.Unmarshal(r.body, &m)
		if m["model"] != "gpt-4o-mini" {
			t.Errorf("model %v, want the one that answered after a fallback (as LiteLLM)", m["model"])
		}

		fake.ClearRules()
		fake.Reset()
		fail(anthropicPath, 529)
		r = send(g.URL, chatBody("t1", "hi"))
		if r.code != 200 || r.servedBy() != "/t4" || r.hdr.Get("x-litellm-model-group") != "t4" {
			t.Fatalf("translated → fast: %s served by %q", r, r.servedBy())
		}
		last, _ := fake.Last()
		if last.Header.Get("Authorization") != "Bearer k-mu-t4" || last.Header.Get("X-Api-Key") != "" {
			t.Errorf("translated → fast: %v", last.Header)
		}
		noInternalHeaders(t, fake)
	})

	t.Run("a try the module translates carries no marker", func(t *testing.T) {
		fake.ClearRules()
		fake.Reset()
		var r reply
		_, att := streams(func() { r = send(g.URL, chatBody("f2", "hi")) })
		if r.code != 200 || att != 0 {
			t.Fatalf("%s, %d attempt-filter streams (want the module's translation, none)", r, att)
		}
		if last, _ := fake.Last(); last.Path != anthropicPath {
			t.Fatalf("provider saw %s", last.Path)
		}
		noInternalHeaders(t, fake)
	})

	t.Run("a connection cut after the headers is retried (the success is held)", func(t *testing.T) {
		fake.ClearRules()
		must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/ca/"}, Fault: fakeprovider.Fault{CutAfter: 20}}))
		fake.Reset()
		for i := 0; i < 8; i++ {
			if r := send(g.URL, chatBody("cut", "hi", `"num_retries":1`)); r.code != 200 || r.servedBy() != "/cb" {
				t.Fatalf("request %d: %s served by %q", i, r, r.servedBy())
			}
		}
		if fake.Count("/ca/") == 0 {
			t.Errorf("the cut deployment was never tried: %v", fake.Counts())
		}
	})

	t.Run("a plan of two fast tries above FastPathLuaMax deployments is fast", func(t *testing.T) {
		fake.ClearRules()
		fake.Reset()
		fail("/m0/", 500)
		var r reply
		_, att := streams(func() { r = send(g.URL, chatBody("many0", "hi", `"num_retries":1`)) })
		if r.code != 200 || r.servedBy() != "/m1" {
			t.Fatalf("%s served by %q", r, r.servedBy())
		}
		if failed := int(fake.Count("/m0/")); att != failed {
			t.Errorf("%d attempt-filter streams for %d failing tries of %d", att, failed, len(fake.Requests()))
		}
		last, _ := fake.Last()
		if last.Path != "/m1/v1/chat/completions" || last.Header.Get("Authorization") != "Bearer k-mu-m1" {
			t.Errorf("upstream %s %v", last.Path, last.Header)
		}
	})

	t.Run("a stream passes the module as it comes", func(t *testing.T) {
		fake.ClearRules()
		fake.Reset()
		code, _, body := post(t, g.URL+"/v1/chat/completions", master, `{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		if code != 200 || !strings.Contains(string(body), "data: [DONE]") {
			t.Fatalf("%d %s", code, body)
		}
		for _, ev := range sseEvents(body) {
			if ev != "[DONE]" && !strings.Contains(ev, `"model":"fast"`) {
				t.Errorf("chunk not restamped: %s", ev)
			}
		}
	})

	t.Run("cooldown: a deployment that failed gets nothing until it ends", func(t *testing.T) {
		fake.ClearRules()
		fail("/ka/", 500)
		fake.Reset()
		// allowed_fails 1000 in the config; this group's deployments cool
		// down on a 429 (LiteLLM cools any deployment down on a rate limit).
		fake.ClearRules()
		fail("/ka/", 429)
		for i := 0; i < 12; i++ {
			if r := send(g.URL, chatBody("cool", "hi", `"num_retries":1`)); r.code != 200 || r.servedBy() != "/kb" {
				t.Fatalf("request %d: %s served by %q", i, r, r.servedBy())
			}
		}
		if n := fake.Count("/ka/"); n != 1 {
			t.Errorf("the cooling deployment got %d requests, want 1 (the one that cooled it down)", n)
		}
	})

	for _, k := range []string{"sk-mu-fast-1", "az-mu-secret-2", "k-mu-pa", "k-mu-pb", "k-mu-f2"} {
		if strings.Contains(g.Logs(), k) {
			t.Errorf("provider key %s appears in the gateway's or Envoy's logs", k)
		}
	}
}

// noInternalHeaders fails the test if a request the fake provider recorded
// carries an x-llmgate-* header: tries the module serves without the fast
// path (the full attempt filter, a translated try) carry no marker either
// (D105: the module's upstream filter removes it, not a listener filter).
func noInternalHeaders(t *testing.T, fake *fakeprovider.Server) {
	t.Helper()
	for _, rec := range fake.Requests() {
		for k := range rec.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-llmgate") {
				t.Errorf("%s: header %s reached the provider", rec.Path, k)
			}
		}
	}
}
