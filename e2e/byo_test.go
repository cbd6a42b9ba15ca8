package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// proc is a process a bring-your-own-Envoy test starts (llmgate pieces,
// Envoy), with its output kept for the failure message.
type proc struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(args[0], args[1:]...)}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(args[0]), tail(p.Output(), 4000))
		}
	})
	return p
}

// appServer is the user's own app behind their Envoy: it answers its own
// 200, 404 and 500 in plain text.
func appServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "text/plain")
		switch r.URL.Path {
		case "/app/ok":
			_, _ = io.WriteString(w, "app ok")
		case "/app/boom":
			w.WriteHeader(500)
			_, _ = io.WriteString(w, "app broke")
		default:
			w.WriteHeader(404)
			_, _ = io.WriteString(w, "app has no "+r.URL.Path)
		}
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// appBootstrap is an Envoy bootstrap as a user writes it: one listener
// serving an app under /app, no catch-all (an unknown path is Envoy's own
// 404), the router alone in the filter chain.
func appBootstrap(port int, app string) string {
	host, p, _ := net.SplitHostPort(app)
	return fmt.Sprintf(`
static_resources:
  listeners:
  - name: app_listener
    address: {socket_address: {address: 127.0.0.1, port_value: %d}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: app
          route_config:
            name: app_routes
            virtual_hosts:
            - name: app
              domains: ["*"]
              routes:
              - match: {prefix: /app}
                route: {cluster: app}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: app
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: app
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: %s, port_value: %s}}}
`, port, host, p)
}

func waitHTTP(t *testing.T, url string, envoyProc *proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered: %v\n%s", url, err, tail(envoyProc.Output(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("content-type"), string(b)
}

// checkSharedListener: the app's routes and llmgate's routes both work on
// one listener, and the app's errors (and Envoy's own 404 for a path nobody
// serves) are not rewritten into OpenAI JSON.
func checkSharedListener(t *testing.T, url string, fake *fakeprovider.Server) {
	t.Helper()
	if code, _, body := get(t, url+"/app/ok"); code != 200 || body != "app ok" {
		t.Errorf("app route: %d %q", code, body)
	}
	if code, ct, body := get(t, url+"/app/missing"); code != 404 || body != "app has no /app/missing" || strings.Contains(ct, "json") {
		t.Errorf("the app's own 404 must reach the client as the app sent it: %d %s %q", code, ct, body)
	}
	if code, _, body := get(t, url+"/app/boom"); code != 500 || body != "app broke" {
		t.Errorf("the app's own 500 must reach the client as the app sent it: %d %q", code, body)
	}
	if code, _, body := get(t, url+"/nobody/serves/this"); code != 404 || strings.Contains(body, `"error"`) {
		t.Errorf("Envoy's own 404 for a path of nobody's must stay Envoy's: %d %q", code, body)
	}
	code, h, b := post(t, url+"/v1/chat/completions", master, `{"model":"gpt-x","messages":[{"role":"user","content":"byo"}]}`)
	if code != 200 || !strings.Contains(string(b), "byo") || h.Get("x-litellm-model-group") != "gpt-x" {
		t.Fatalf("LLM route: %d %s", code, b)
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-llmgate-") {
			t.Errorf("internal header %s reached the client", k)
		}
	}
	if rec, ok := fake.Last(); !ok || rec.Path != "/byo/v1/chat/completions" {
		t.Errorf("upstream path %+v", rec)
	}
	// The gateway's own replies and Envoy's replies on llmgate's routes are
	// OpenAI JSON.
	code, _, b = post(t, url+"/v1/chat/completions", "", `{"model":"gpt-x","messages":[{"role":"user","content":"x"}]}`)
	assertOpenAIError(t, code, b, 401, "")
	code, _, b = post(t, url+"/chat/completions", master, `{"model":"dead","messages":[{"role":"user","content":"x"}]}`)
	if code < 500 {
		t.Errorf("unreachable deployment: %d %s", code, b)
	}
	assertOpenAIError(t, code, b, code, "")
	// A context-window fallback is an internal redirect (to llmgate.internal):
	// it replays through the merged listener to the fallback group.
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{Model: "small-model"}, Fault: fakeprovider.Fault{Status: 400,
		ErrorMessage: "This model's maximum context length is 10 tokens. However, your messages resulted in 50 tokens."}}); err != nil {
		t.Fatal(err)
	}
	code, h, b = post(t, url+"/v1/chat/completions", master, `{"model":"small","messages":[{"role":"user","content":"long prompt"}]}`)
	fake.ClearRules()
	if code != 200 || !strings.Contains(string(b), `"model":"big-model"`) {
		t.Errorf("context-window fallback: %d %s", code, b)
	}
	// Served by the fallback group's deployment, and named so (in the
	// degraded mode the replay took the requested group's route, so its
	// weighted clusters sent the fallback's body to the small deployment
	// again and the header named small).
	if rec, ok := fake.Last(); !ok || rec.Path != "/big/v1/chat/completions" {
		t.Errorf("context-window fallback reached %s, want the big deployment", rec.Path)
	}
	if g := h.Get("x-litellm-model-group"); g != "big" {
		t.Errorf("context-window fallback served by group %q, want big", g)
	}
	if code, _, body := get(t, url+"/v1/models"); code != 401 || !strings.Contains(body, `"error"`) {
		t.Errorf("/v1/models without a key: %d %s", code, body)
	}
}

// byoConfig: gpt-x on the fake provider, dead unreachable, then extra
// model_list entries.
func byoConfig(fakeURL, extra string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/byo/v1, api_key: k}
  - model_name: dead
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:1/v1", api_key: k}
  - model_name: small
    litellm_params: {model: openai/small-model, api_base: %[1]s/small/v1, api_key: k}
  - model_name: big
    litellm_params: {model: openai/big-model, api_base: %[1]s/big/v1, api_key: k}
%[2]s
router_settings:
  context_window_fallbacks: [{"small": ["big"]}]
general_settings:
  master_key: %[3]s
`, fakeURL, extra, master)
}

// TestBYOMergeIntoAppListener: `llmgate render --mode merge` adds llmgate to
// the listener of an Envoy that already serves an app; Envoy runs the
// result as it is, next to `llmgate extproc`.
func TestBYOMergeIntoAppListener(t *testing.T) {
	needEnvoy(t)
	runBYOMerge(t, envoyBin, false, nil)
}

// byoSetup is what every bring-your-own-Envoy test starts from: the fake
// provider and byoConfig in a temp dir; extAddr is where the test's
// `llmgate extproc` listens.
type byoSetup struct {
	fake    *fakeprovider.Server
	dir     string
	cfgPath string
	extAddr string
}

// newBYO writes byoConfig with extra(the fake's URL) as further model_list
// entries (extra may be nil).
func newBYO(t *testing.T, extra func(fakeURL string) string) *byoSetup {
	t.Helper()
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	b := &byoSetup{fake: fake, dir: t.TempDir(), extAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	more := ""
	if extra != nil {
		more = extra(fake.URL())
	}
	b.cfgPath = b.write(t, "config.yaml", []byte(byoConfig(fake.URL(), more)))
	return b
}

// serveExtproc runs `llmgate extproc` on the config file.
func (b *byoSetup) serveExtproc(t *testing.T) {
	t.Helper()
	startProc(t, llmgateBin, "extproc", "--config", b.cfgPath, "--listen", b.extAddr)
}

// write puts data in the test's dir as name and returns its path.
func (b *byoSetup) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(b.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// render runs `llmgate render` on the config (pointed at the extproc) with
// args and writes its output to name.
func (b *byoSetup) render(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(llmgateBin, append([]string{"render", b.cfgPath, "--extproc-address", b.extAddr}, args...)...).Output()
	if err != nil {
		t.Fatalf("render %v: %v %s", args, err, stderrOf(err))
	}
	return b.write(t, name, out)
}

// appBootstrap writes an app's Envoy bootstrap (appBootstrap) listening on
// port.
func (b *byoSetup) appBootstrap(t *testing.T, port int) string {
	t.Helper()
	return b.write(t, "envoy.yaml", []byte(appBootstrap(port, appServer(t))))
}

// startEnvoy runs the Envoy binary on a bootstrap (one worker, its base id
// the port it serves, unique per test) and waits until readyURL answers.
func startEnvoy(t *testing.T, envoy, bootPath string, port int, readyURL string) *proc {
	t.Helper()
	ev := startProc(t, envoy, "-c", bootPath, "--base-id", fmt.Sprint(port), "--log-level", "warn", "--concurrency", "1")
	waitHTTP(t, readyURL, ev)
	return ev
}

// runBYOMerge merges llmgate into an app's listener (degraded: with
// --no-priority-group), runs the result on envoy and checks the shared
// listener; it returns the listener's URL.
func runBYOMerge(t *testing.T, envoy string, degraded bool, extra func(string) string) (*byoSetup, string) {
	t.Helper()
	b := newBYO(t, extra)
	b.serveExtproc(t)
	port := freePort(t)
	args := []string{"--mode", "merge", "--into", b.appBootstrap(t, port)}
	if degraded {
		args = append(args, "--no-priority-group")
	}
	mergedPath := b.render(t, "merged.yaml", args...)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	startEnvoy(t, envoy, mergedPath, port, url+"/app/ok")
	checkSharedListener(t, url, b.fake)

	// A second merge into the merged file replaces llmgate's pieces instead
	// of adding them twice.
	merged, err := os.ReadFile(mergedPath)
	if err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(b.render(t, "again.yaml", "--mode", "merge", "--into", mergedPath))
	if err != nil {
		t.Fatal(err)
	}
	if n, m := strings.Count(string(again), "llmgate:group:gpt-x"), strings.Count(string(merged), "llmgate:group:gpt-x"); n != m {
		t.Errorf("a second merge has %d group routes, the first %d", n, m)
	}
	return b, url
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestBYOStaticBootstrap: `llmgate render` (a complete static bootstrap)
// runs on Envoy as it is, next to `llmgate extproc`.
func TestBYOStaticBootstrap(t *testing.T) {
	needEnvoy(t)
	b := newBYO(t, nil)
	b.serveExtproc(t)
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	boot := b.render(t, "envoy.yaml", "--port", fmt.Sprint(port), "--admin-port", "0")
	// A bring-your-own Envoy keeps the ext_proc request filter: it loads no
	// file of ours (D56; llmgate run's default is the module).
	if y, err := os.ReadFile(boot); err != nil || strings.Contains(string(y), "dynamic_modules") || !strings.Contains(string(y), "envoy.filters.http.ext_proc") {
		t.Fatalf("the render loads a dynamic module or has no ext_proc request filter (%v)", err)
	}
	startEnvoy(t, envoyBin, boot, port, url+"/health/liveliness")
	code, _, body := post(t, url+"/v1/chat/completions", master, `{"model":"gpt-x","messages":[{"role":"user","content":"static"}]}`)
	if code != 200 || !strings.Contains(string(body), "static") {
		t.Fatalf("chat: %d %s", code, body)
	}
	// On llmgate's own listener every error is OpenAI JSON, as in `llmgate run`.
	c, _, page := get(t, url+"/nobody/serves/this")
	assertOpenAIError(t, c, []byte(page), 404, "")
}

// oldEnvoy is the older Envoy `make envoy-old` installs (Envoy 1.37, as
// Envoy Gateway v1.7 and Istio 1.29 ship; 1.36.4 crashes on the internal
// redirect of a provider-error fallback). Under CI=true a missing one fails.
func oldEnvoy(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ENVOY_OLD_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("$ENVOY_OLD_BIN: %v", err)
		}
		return p
	}
	if m, _ := filepath.Glob("../.venv-envoy-*/lib/python*/site-packages/envoy/_bin/envoy"); len(m) > 0 {
		return m[0]
	}
	if os.Getenv("CI") == "true" || !testing.Short() {
		t.Fatal("the older Envoy is required (make envoy-old, in make deps, or set $ENVOY_OLD_BIN)")
	}
	t.Skip("no older Envoy: `make envoy-old` installs it (-short outside CI; otherwise the test fails)")
	return ""
}

// TestBYOOlderEnvoyDegradedMode: Envoy before 1.40 has no priority_group
// cluster specifier, so the full render is refused by it; the degraded mode
// (--no-priority-group) runs on it as it is: merged into an app's listener,
// the app and llmgate both work and a group's deployments share its traffic
// by weight.
func TestBYOOlderEnvoyDegradedMode(t *testing.T) {
	needEnvoy(t)
	old := oldEnvoy(t)
	out, err := exec.Command(old, "--version").CombinedOutput()
	if err != nil || strings.Contains(string(out), "/1.40.") {
		t.Fatalf("%s is not an older Envoy: %v %s", old, err, out)
	}
	t.Logf("older Envoy: %s", strings.TrimSpace(string(out)))
	pair := func(fakeURL string) string {
		return fmt.Sprintf(`
  - model_name: pair
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/a/v1, api_key: k}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/b/v1, api_key: k}`, fakeURL)
	}
	// The full render is refused for its priority_group; the degraded one
	// validates.
	validate := func(args ...string) (bool, string) {
		b := newBYO(t, pair)
		out, err := exec.Command(old, "--mode", "validate", "-c", b.render(t, "v.yaml", append([]string{"--admin-port", "0"}, args...)...)).CombinedOutput()
		return err == nil, string(out)
	}
	if ok, out := validate(); ok || !strings.Contains(out, "priority_group") {
		t.Errorf("the full design must be refused by Envoy before 1.40 for its priority_group: ok=%v\n%s", ok, tail(out, 600))
	}
	if ok, out := validate("--no-priority-group"); !ok {
		t.Fatalf("the degraded mode must validate on %s:\n%s", old, tail(out, 2000))
	}

	b, url := runBYOMerge(t, old, true, pair)
	fake := b.fake
	seen := map[string]int{}
	for i := 0; i < 30; i++ {
		code, _, b := post(t, url+"/v1/chat/completions", master, `{"model":"pair","messages":[{"role":"user","content":"w"}]}`)
		if code != 200 {
			t.Fatalf("pair: %d %s", code, b)
		}
		rec, _ := fake.Last()
		seen[rec.Path]++
	}
	if seen["/a/v1/chat/completions"] == 0 || seen["/b/v1/chat/completions"] == 0 {
		t.Errorf("weighted clusters must spread a group over its deployments: %v", seen)
	}
}

// TestBYODynamicWay: an Envoy that already serves an app gets llmgate over
// ADS (`llmgate bootstrap --into` adds the control plane to its bootstrap);
// the app and llmgate both work, and a config change reaches Envoy without a
// restart.
func TestBYODynamicWay(t *testing.T) {
	needEnvoy(t)
	runBYODynamic(t, envoyBin)
}

// TestBYODynamicWayOlderEnvoy: the dynamic way on Envoy 1.37 with
// `controlplane --no-priority-group`.
func TestBYODynamicWayOlderEnvoy(t *testing.T) {
	needEnvoy(t)
	runBYODynamic(t, oldEnvoy(t), "--no-priority-group")
}

func runBYODynamic(t *testing.T, envoy string, cpArgs ...string) {
	b := newBYO(t, nil)
	fake, cfgPath := b.fake, b.cfgPath
	appPort, llmPort := freePort(t), freePort(t)
	xdsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startProc(t, append([]string{llmgateBin, "controlplane", "--config", cfgPath, "--listen", xdsAddr, "--extproc-address", b.extAddr,
		"--host", "127.0.0.1", "--port", fmt.Sprint(llmPort)}, cpArgs...)...)
	startProc(t, llmgateBin, "extproc", "--xds-address", xdsAddr, "--listen", b.extAddr)
	boot, err := exec.Command(llmgateBin, "bootstrap", "--xds-address", xdsAddr, "--into", b.appBootstrap(t, appPort)).Output()
	if err != nil {
		t.Fatalf("bootstrap --into: %v %s", err, stderrOf(err))
	}
	app := fmt.Sprintf("http://127.0.0.1:%d", appPort)
	llm := fmt.Sprintf("http://127.0.0.1:%d", llmPort)
	ev := startEnvoy(t, envoy, b.write(t, "with-ads.yaml", boot), appPort, app+"/app/ok")
	waitHTTP(t, llm+"/health/liveliness", ev)
	if code, _, body := get(t, app+"/app/ok"); code != 200 || body != "app ok" {
		t.Errorf("app route: %d %q", code, body)
	}
	if code, ct, body := get(t, app+"/app/boom"); code != 500 || body != "app broke" || strings.Contains(ct, "json") {
		t.Errorf("the app's 500 must stay the app's: %d %q", code, body)
	}
	if code, _, body := get(t, app+"/nobody"); code != 404 || strings.Contains(body, `"error"`) {
		t.Errorf("Envoy's own 404 on the app's listener must stay Envoy's: %d %q", code, body)
	}
	code, _, body := post(t, llm+"/v1/chat/completions", master, `{"model":"gpt-x","messages":[{"role":"user","content":"dyn"}]}`)
	if code != 200 || !strings.Contains(string(body), "dyn") {
		t.Fatalf("LLM route: %d %s", code, body)
	}

	// A config change reaches the running Envoy (no restart).
	pid := ev.cmd.Process.Pid
	if err := os.WriteFile(cfgPath+".tmp", []byte(byoConfig(fake.URL(), fmt.Sprintf(`
  - model_name: added
    litellm_params: {model: openai/gpt-4o, api_base: %s/added/v1, api_key: k}`, fake.URL()))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(cfgPath+".tmp", cfgPath); err != nil {
		t.Fatal(err)
	}
	served := false
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if code, _, _ := post(t, llm+"/v1/chat/completions", master, `{"model":"added","messages":[{"role":"user","content":"new"}]}`); code == 200 {
			served = true
			break
		}
	}
	if !served {
		t.Fatal("the new model group never served through the user's Envoy")
	}
	if rec, _ := fake.Last(); rec.Path != "/added/v1/chat/completions" {
		t.Errorf("upstream path %s", rec.Path)
	}
	if ev.cmd.Process.Pid != pid || ev.cmd.ProcessState != nil {
		t.Error("Envoy was restarted")
	}
	if code, _, body := get(t, app+"/app/ok"); code != 200 || body != "app ok" {
		t.Errorf("app route after the change: %d %q", code, body)
	}
}
