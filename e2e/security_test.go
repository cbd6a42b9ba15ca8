package e2e

import (
	"bufio"
	"encoding/json"

	"context"
	"fmt"
	"github.com/llmgate/llmgate/internal/fakeprovider"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// adminFromLog is the admin address the "gateway ready" line names.
func adminFromLog(t *testing.T, g *Gateway) string {
	t.Helper()
	re := regexp.MustCompile(`gateway ready.*admin=(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(g.Stderr()); m != nil {
			return m[1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no 'gateway ready' line with the admin address:\n%s", g.Logs())
	return ""
}

// Issue 8 item 6: Envoy's admin interface (no auth: log level, /quitquitquit)
// is a Unix socket in the private 0700 dir by default, and the log says so;
// --admin-address exposes it on TCP.
func TestAdminInterface(t *testing.T) {
	cfg := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, mock_response: hi}\n"
	t.Run("default_is_a_private_unix_socket", func(t *testing.T) {
		g := startGateway(t, cfg)
		addr := adminFromLog(t, g)
		sock, ok := strings.CutPrefix(addr, "unix:")
		if !ok {
			t.Fatalf("admin listens on %q, want a unix socket", addr)
		}
		fi, err := os.Stat(sock)
		if err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Fatalf("admin socket %s: %v %v", sock, fi, err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("admin socket mode %o: others can reach it", perm)
		}
		di, err := os.Stat(filepath.Dir(sock))
		if err != nil || di.Mode().Perm() != 0o700 {
			t.Errorf("admin socket dir %v %v, want 0700", di.Mode(), err)
		}
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
		resp, err := c.Get("http://admin/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("admin /ready over the socket: %d", resp.StatusCode)
		}
	})
	t.Run("flag_exposes_it_on_tcp", func(t *testing.T) {
		want := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		g := startGatewayArgs(t, cfg, []string{"--admin-address", want})
		if got := adminFromLog(t, g); got != want {
			t.Fatalf("log names admin %q, want %q", got, want)
		}
		resp, err := http.Get("http://" + want + "/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("admin /ready over tcp: %d", resp.StatusCode)
		}
	})
}

func securityConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/cheap-a/v1, api_key: sk-provider-a}
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/cheap-b/v1, api_key: sk-provider-b}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/anth, api_key: sk-ant}
  - model_name: failing
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/fail-a/v1, api_key: k}
  - model_name: failing
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/fail-b/v1, api_key: k}
router_settings:
  num_retries: 1
  disable_cooldowns: true
general_settings:
  master_key: %[2]s
`, fake, master)
}

// Issue 8 item 1: a body that names the model twice (or in another case) is
// refused with an OpenAI 400, on the pass-through (sjson splice) and on a
// translated path; the provider never runs a model the config does not name.
func TestDuplicateKeysRefused(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, securityConfig(fake.URL()))
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	for _, c := range []struct{ name, body string }{
		{"pass-through twice", `{"model":"cheap",` + msgs + `,"model":"gpt-4.5-preview"}`},
		{"pass-through twice, configured last", `{"model":"gpt-4.5-preview",` + msgs + `,"model":"cheap"}`},
		{"pass-through upper case", `{"MODEL":"cheap",` + msgs + `,"model":"gpt-4.5-preview"}`},
		{"pass-through upper case alone", `{"MODEL":"cheap",` + msgs + `}`},
		{"pass-through escaped", `{"mod\u0065l":"cheap",` + msgs + `}`},
		{"translated twice", `{"model":"claude",` + msgs + `,"model":"claude-3-opus-20240229"}`},
		{"translated twice, configured last", `{"model":"claude-3-opus-20240229",` + msgs + `,"model":"claude"}`},
		{"translated upper case", `{"model":"claude","Model":"claude-3-opus-20240229",` + msgs + `}`},
		{"stream twice", `{"model":"cheap","stream":false,` + msgs + `,"stream":true}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake.Reset()
			status, _, body := post(t, g.URL+"/v1/chat/completions", master, c.body)
			if status != 400 {
				t.Errorf("status %d, want 400: %s", status, body)
			}
			assertCleanError(t, body)
			for _, r := range fake.Requests() {
				t.Errorf("the provider was called (%s) with %s", r.Path, r.Body)
			}
		})
	}
	// One model key, one value: served, and the provider gets the configured model.
	fake.Reset()
	if status, _, body := post(t, g.URL+"/v1/chat/completions", master, `{"model":"cheap",`+msgs+`}`); status != 200 {
		t.Fatalf("plain request: %d %s", status, body)
	}
	r, ok := fake.Last()
	if !ok {
		t.Fatal("provider not called")
	}
	var got struct{ Model string }
	if err := r.JSON(&got); err != nil || got.Model != "gpt-4o-mini" {
		t.Errorf("provider got model %q (%v), want gpt-4o-mini", got.Model, err)
	}
}

// assertCleanError fails unless body is OpenAI error JSON without internals.
func assertCleanError(t *testing.T, body []byte) {
	t.Helper()
	var e struct {
		Error *struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    any     `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not OpenAI error JSON: %s", body)
	}
	low := strings.ToLower(e.Error.Message)
	for _, internal := range []string{"grpc", "ext_proc", "rpc error", "desc ="} {
		if strings.Contains(low, internal) {
			t.Errorf("error shows internals (%q): %s", internal, body)
		}
	}
}

// Issue 8 item 2: client knobs are bounded by the config: num_retries:
// 1000000 answers with a bounded number of tries and no memory blow-up; a
// huge timeout is cut to the config's.
func TestClientKnobsBounded(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, securityConfig(fake.URL()))
	for _, p := range []string{"/fail-a", "/fail-b"} {
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: p}, Fault: fakeprovider.Fault{Status: 500, ErrorMessage: "boom"}}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	t.Run("num_retries_1000000_on_a_healthy_group", func(t *testing.T) {
		status, _, body := post(t, g.URL+"/v1/chat/completions", master, `{"model":"cheap","num_retries":1000000,`+msgs+`}`)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
	})
	t.Run("num_retries_1000000_on_a_failing_group", func(t *testing.T) {
		fake.Reset()
		status, h, body := post(t, g.URL+"/v1/chat/completions", master, `{"model":"failing","num_retries":1000000,`+msgs+`}`)
		if status != 500 {
			t.Errorf("status %d, want the provider's 500: %s", status, body)
		}
		assertCleanError(t, body)
		// One call plus at most 10 retries (the bound when the config allows fewer).
		if n := fake.Count("/fail-"); n != 11 {
			t.Errorf("%d tries, want 11 (1 + the bound of 10 retries)", n)
		}
		if got := h.Get("x-litellm-attempted-retries"); got != "10" {
			t.Errorf("x-litellm-attempted-retries = %q, want 10", got)
		}
	})
	t.Run("negative_num_retries_is_no_retry", func(t *testing.T) {
		fake.Reset()
		status, _, body := post(t, g.URL+"/v1/chat/completions", master, `{"model":"failing","num_retries":-5,`+msgs+`}`)
		if status != 500 {
			t.Errorf("status %d: %s", status, body)
		}
		if n := fake.Count("/fail-"); n != 1 {
			t.Errorf("%d tries, want 1", n)
		}
	})
	t.Run("many_fallbacks_are_cut_to_max_fallbacks", func(t *testing.T) {
		fake.Reset()
		fbs := make([]string, 0, 5000)
		for i := range 5000 {
			fbs = append(fbs, fmt.Sprintf("%q", fmt.Sprintf("nope-%d", i)))
		}
		status, _, body := post(t, g.URL+"/v1/chat/completions", master, `{"model":"failing","num_retries":0,"fallbacks":[`+strings.Join(fbs, ",")+`,"cheap"],`+msgs+`}`)
		// "cheap" is past max_fallbacks (5): never tried.
		if status != 500 {
			t.Errorf("status %d: %s", status, body)
		}
		if n := fake.Count("/cheap"); n != 0 {
			t.Errorf("a fallback past max_fallbacks was tried %d times", n)
		}
	})
	if rss := rssMB(t, g.cmd.Process.Pid); rss > 400 {
		t.Errorf("llmgate grew to %d MB", rss)
	}
}

// rssMB is a process's resident memory.
func rssMB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			var kb int
			fmt.Sscan(f[1], &kb)
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// rawPost sends a request over a raw connection (any Host the client likes)
// and returns the status line and the header lines of the response.
func rawPost(t *testing.T, addr, host, path, key, body string) (string, []string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", path, host, key, len(body), body)
	r := bufio.NewReader(c)
	status, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read status: %v", err)
	}
	var hdrs []string
	for {
		line, err := r.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if err != nil || line == "" {
			break
		}
		hdrs = append(hdrs, line)
	}
	return strings.TrimSpace(status), hdrs
}

// Issue 8 item 3: no x-llmgate-* header reaches a client, on any route: a
// 307 whose internal redirect Envoy refuses (bad Host) included, and the
// gateway's own replies (401, 404, 400).
func TestNoInternalHeadersReachClients(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: small
    litellm_params: {model: openai/small, api_base: %[1]s/small/v1, api_key: k}
  - model_name: big
    litellm_params: {model: openai/big, api_base: %[1]s/big/v1, api_key: k}
router_settings:
  context_window_fallbacks: [{"small": ["big"]}]
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/small"}, Fault: fakeprovider.Fault{Status: 400,
		ErrorMessage: "This model's maximum context length is 10 tokens. However, your messages resulted in 50 tokens."}}); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(g.URL, "http://")
	chat := `{"model":"small","messages":[{"role":"user","content":"long"}]}`
	for _, c := range []struct{ name, host, path, key, body string }{
		{"fallback through a good host", addr, "/v1/chat/completions", master, chat},
		{"fallback with a host the redirect refuses (port)", "gw:99999", "/v1/chat/completions", master, chat},
		{"fallback with a host the redirect refuses (userinfo)", "user@gw", "/v1/chat/completions", master, chat},
		{"fallback with a host the redirect refuses (bad chars)", "gw%zz", "/v1/chat/completions", master, chat},
		{"fallback with a host the redirect refuses (ipv6)", "[::1", "/v1/chat/completions", master, chat},
		{"no key (401)", addr, "/v1/chat/completions", "wrong", chat},
		{"unknown route (404)", addr, "/v1/nope", master, chat},
		{"unknown model (400)", addr, "/v1/chat/completions", master, `{"model":"nope","messages":[]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, hdrs := rawPost(t, addr, c.host, c.path, c.key, c.body)
			if strings.Contains(c.name, "fallback") && !strings.Contains(status, " 200 ") {
				t.Errorf("%s, want 200 from the context-window fallback", status)
			}
			for _, h := range hdrs {
				if strings.HasPrefix(strings.ToLower(h), "x-llmgate-") {
					t.Errorf("%s: internal header reaches the client: %s", status, h)
				}
			}
		})
	}
}

// Issue 8 item 5: client headers reach the provider only as LiteLLM forwards
// them: none by default; with forward_client_headers_to_llm_api the x-*
// ones (not x-stainless-*, keys, proxy headers) and anthropic-beta; with
// forward_openai_org_id OpenAI-Organization. Pass-through (prepared body)
// and translated paths.
func TestClientHeadersForwardedAsLiteLLM(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	base := fmt.Sprintf(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/cheap/v1, api_key: sk-provider}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/anth, api_key: sk-ant}
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	client := map[string]string{
		"Cookie": "session=secret", "X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9",
		"OpenAI-Organization": "org-client", "OpenAI-Project": "proj-client", "User-Agent": "client-agent/1",
		"X-Trace-Id": "trace-1", "Anthropic-Beta": "prompt-caching-2024-07-31", "X-Stainless-Lang": "js",
		"X-Litellm-Api-Key": "", "Referer": "https://example.com/",
	}
	never := []string{"Cookie", "X-Forwarded-For", "X-Real-Ip", "X-Envoy-External-Address", "Openai-Project", "User-Agent",
		"X-Stainless-Lang", "Referer"}
	send := func(t *testing.T, g *Gateway, model string) fakeprovider.Recorded {
		t.Helper()
		fake.Reset()
		req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("authorization", "Bearer "+master)
		for k, v := range client {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		r, ok := fake.Last()
		if !ok {
			t.Fatal("provider not called")
		}
		return r
	}
	check := func(t *testing.T, r fakeprovider.Recorded, want, notWant []string) {
		t.Helper()
		for _, k := range notWant {
			if v := r.Header.Get(k); v != "" && v != "sk-provider" && !strings.Contains(v, "sk-ant") {
				t.Errorf("%s reaches the provider: %q", k, v)
			}
		}
		for _, k := range want {
			if r.Header.Get(k) != client[http.CanonicalHeaderKey(k)] && r.Header.Get(k) != client[k] {
				t.Errorf("%s = %q at the provider, want the client's", k, r.Header.Get(k))
			}
		}
	}
	t.Run("default_forwards_none", func(t *testing.T) {
		g := startGateway(t, base)
		for _, m := range []string{"cheap", "claude"} {
			r := send(t, g, m)
			check(t, r, nil, append(never, "X-Trace-Id", "Anthropic-Beta", "Openai-Organization"))
			if r.Header.Get("Content-Type") == "" {
				t.Errorf("%s: content-type was removed", m)
			}
		}
	})
	t.Run("forward_client_headers_to_llm_api", func(t *testing.T) {
		g := startGateway(t, base+"  forward_client_headers_to_llm_api: true\n  forward_openai_org_id: true\n")
		for _, m := range []string{"cheap", "claude"} {
			check(t, send(t, g, m), []string{"X-Trace-Id", "Anthropic-Beta", "OpenAI-Organization"}, never)
		}
	})
	t.Run("per_model_group_and_traceparent", func(t *testing.T) {
		client["Traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		defer delete(client, "Traceparent")
		g := startGateway(t, base+"litellm_settings:\n  forward_traceparent_to_llm_provider: true\n  model_group_settings:\n    forward_client_headers_to_llm_api: [\"cla*\"]\n")
		check(t, send(t, g, "claude"), []string{"X-Trace-Id", "Anthropic-Beta", "Traceparent"}, append(never, "Openai-Organization"))
		check(t, send(t, g, "cheap"), []string{"Traceparent"}, append(never, "X-Trace-Id", "Anthropic-Beta", "Openai-Organization"))
	})
}

// Issue 8 item 4: a reload that reads a half-written file never opens the
// gateway: removing master_key is refused (an error naming it) unless the
// file says so on purpose (general_settings.llmgate_allow_no_master_key).
func TestReloadNeverDropsTheMasterKey(t *testing.T) {
	models := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, mock_response: hi}\n"
	full := models + "general_settings:\n  master_key: " + master + "\n"
	g := startGateway(t, full)
	chat := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	if code, _, b := post(t, g.URL+"/v1/chat/completions", "", chat); code != 401 {
		t.Fatalf("no key: %d %s", code, b)
	}
	// An editor writing in place: the first half (no general_settings), a
	// pause, then the rest.
	f, err := os.OpenFile(g.ConfigPath, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(models); err != nil {
		t.Fatal(err)
	}
	_ = f.Sync()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if code, _, b := post(t, g.URL+"/v1/chat/completions", "", chat); code != 401 {
			t.Fatalf("a half-written config opened the gateway: %d %s", code, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(g.Stderr(), "general_settings.master_key was removed") {
		t.Errorf("no error log names master_key:\n%s", g.Stderr())
	}
	if _, err := f.WriteString("general_settings:\n  master_key: " + master + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	time.Sleep(time.Second)
	if code, _, b := post(t, g.URL+"/v1/chat/completions", "", chat); code != 401 {
		t.Fatalf("no key after the write completed: %d %s", code, b)
	}
	if code, _, b := post(t, g.URL+"/v1/chat/completions", master, chat); code != 200 {
		t.Fatalf("with the key: %d %s", code, b)
	}
	// On purpose: the file says so.
	g.WriteConfig(models + "general_settings:\n  llmgate_allow_no_master_key: true\n")
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, _, _ := post(t, g.URL+"/v1/chat/completions", "", chat)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("removing master_key on purpose never took effect:\n%s", g.Stderr())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Issue 8 item 7: credentials in api_base's query are sent to the provider
// on every request (as LiteLLM keeps them) and redacted wherever api_base is
// shown (/model/info, /health, logs); user:password@ is a config error.
func TestAPIBaseCredentials(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	const secret = "sk-query-secret-123"
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: q
    litellm_params: {model: openai/gpt-4o-mini, api_base: "%[1]s/q/v1?key=%[3]s", api_key: k}
  - model_name: az
    litellm_params: {model: azure/dep, api_base: "%[1]s?subscription-key=%[3]s", api_key: k, api_version: "2024-06-01"}
  - model_name: anth
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: "%[1]s/anth?key=%[3]s", api_key: k}
general_settings:
  master_key: %[2]s
`, fake.URL(), master, secret))
	for _, c := range []struct{ model, path, query string }{
		{"q", "/q/v1/chat/completions", "key=" + secret},
		{"az", "/openai/deployments/dep/chat/completions", "api-version=2024-06-01&subscription-key=" + secret},
		{"anth", "/anth/v1/messages", "key=" + secret},
	} {
		fake.Reset()
		code, _, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"`+c.model+`","messages":[{"role":"user","content":"hi"}]}`)
		if code != 200 {
			t.Errorf("%s: %d %s", c.model, code, b)
			continue
		}
		r, _ := fake.Last()
		if r.Path != c.path || r.Query != c.query {
			t.Errorf("%s: provider got %s?%s, want %s?%s", c.model, r.Path, r.Query, c.path, c.query)
		}
	}
	for _, path := range []string{"/model/info", "/health"} {
		code, _, b := do(t, "GET", g.URL+path, master, "")
		if code != 200 {
			t.Errorf("%s: %d %s", path, code, b)
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("%s shows the api_base secret: %s", path, b)
		}
		if path == "/model/info" && !strings.Contains(string(b), "key=REDACTED") {
			t.Errorf("/model/info does not show the redacted api_base: %s", b)
		}
	}
	if strings.Contains(g.Logs(), secret) {
		t.Errorf("the logs show the api_base secret")
	}
	// user:password@ in api_base: a config error with file:line.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: https://user:pw@h.example.com/v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(llmgateBin, "validate", "--config", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad.yaml:5") || !strings.Contains(string(out), "api_base") || strings.Contains(string(out), "pw@") {
		t.Errorf("validate with userinfo in api_base: err %v, output:\n%s", err, out)
	}
}
