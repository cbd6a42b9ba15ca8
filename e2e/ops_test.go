package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cliEnv is the test's environment without the variables llmgate reads as
// LiteLLM does, plus env.
func cliEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "PORT", "HOST", "CONFIG_FILE_PATH", "LITELLM_MASTER_KEY", "NUM_WORKERS", "DATABASE_URL":
			continue
		}
		out = append(out, kv)
	}
	return append(out, env...)
}

// startLLMGate runs llmgate with exactly these arguments and environment
// (plus a data dir of the test's own) and waits until url answers
// /health/readiness.
func startLLMGate(t *testing.T, url string, env []string, args ...string) *Gateway {
	t.Helper()
	needEnvoy(t)
	g := &Gateway{t: t, URL: url, done: make(chan struct{})}
	g.cmd = exec.Command(llmgateBin, args...)
	g.cmd.Env = append(env, "LLMGATE_DATA_DIR="+filepath.Join(t.TempDir(), "data"))
	return g.launch(t)
}

// runExit runs llmgate to its end (at most a minute) and returns its output
// and exit code.
func runExit(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(llmgateBin, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), 0
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("llmgate %s still running after 60 s:\n%s", strings.Join(args, " "), tail(out.String(), 3000))
		return "", 0
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

const opsConfig = `
model_list:
  - model_name: gpt-ops
    litellm_params: {model: openai/gpt-4o, api_key: k, mock_response: "ops ok"}
`

func writeConfig(t *testing.T, yml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCLIBusyPort (issue 13 item 6): a busy port ends `llmgate run` at once
// with exit 1, naming the address and the process that holds it, before
// Envoy starts.
func TestCLIBusyPort(t *testing.T) {
	needEnvoy(t)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	out, code := runExit(t, cliEnv(), "run", writeConfig(t, opsConfig), "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--envoy", envoyBin)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	want := fmt.Sprintf("cannot listen on 127.0.0.1:%d", port)
	if !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprintf("held by pid %d", os.Getpid())) {
		t.Errorf("output lacks %q and the holder (pid %d):\n%s", want, os.Getpid(), out)
	}
	if strings.Contains(out, "envoy started") {
		t.Errorf("Envoy was started on a busy port:\n%s", out)
	}
}

// TestCLIBusyPortFoundByEnvoy: when Envoy itself finds the port busy (here
// the check before start is turned off), the listener's rejection ends the
// run with exit 1 and a clear message instead of an ADS push/reject loop
// (the issue counted 91,000 log lines in 20 s).
func TestCLIBusyPortFoundByEnvoy(t *testing.T) {
	needEnvoy(t)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	out, code := runExit(t, cliEnv(), "run", writeConfig(t, opsConfig), "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"--envoy", envoyBin, "--no-bind-check", "--envoy-concurrency", "1")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, tail(out, 3000))
	}
	want := fmt.Sprintf("llmgate: envoy rejected the listener on 127.0.0.1:%d", port)
	if !strings.Contains(out, want) || !strings.Contains(out, "Address already in use") {
		t.Errorf("output lacks %q:\n%s", want, tail(out, 3000))
	}
	if strings.Contains(out, "gateway ready") {
		t.Errorf("logged ready without its listener:\n%s", tail(out, 3000))
	}
	if n := strings.Count(out, "\n"); n > 100 {
		t.Errorf("%d log lines before exiting: the rejection loops", n)
	}
}

// TestCLIPortRange: a port outside 0-65535 is a usage error (exit 2), from
// the flag and from $PORT alike.
func TestCLIPortRange(t *testing.T) {
	cfg := writeConfig(t, opsConfig)
	for _, tc := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"run", cfg, "--port", "70000"}},
		{[]string{"PORT=70000"}, []string{"run", cfg}},
		{[]string{"PORT=http"}, []string{"run", cfg}},
		{nil, []string{"render", cfg, "--port", "-1"}},
		{nil, []string{"controlplane", cfg, "--port", "65536", "--extproc-address", "127.0.0.1:1"}},
	} {
		out, code := runExit(t, cliEnv(tc.env...), tc.args...)
		if code != 2 || !strings.Contains(out, "a port is a number from 0 to 65535") {
			t.Errorf("%v %v: exit %d, want 2 and the range:\n%s", tc.env, tc.args, code, out)
		}
	}
}

// TestCLIPositionalConfig: `llmgate validate config.yaml` checks that file
// (it used to check the embedded example and exit 0), in any order with the
// flags; two paths are a usage error.
func TestCLIPositionalConfig(t *testing.T) {
	broken := writeConfig(t, "model_list:\n  - model_name: a\n    litellm_params:\n      model: nosuch/model\n")
	good := writeConfig(t, opsConfig)
	for _, args := range [][]string{{"validate", broken}, {"validate", broken, "--no-env"}, {"validate", "--no-env", broken}, {"render", broken}} {
		out, code := runExit(t, cliEnv(), args...)
		if code != 1 || !strings.Contains(out, "config.yaml:4: error") {
			t.Errorf("%v: exit %d, want 1 with config.yaml:4:\n%s", args, code, out)
		}
	}
	out, code := runExit(t, cliEnv(), "validate", good)
	if code != 0 || !strings.Contains(out, good+": ok: 1 deployment(s)") {
		t.Errorf("validate %s: exit %d:\n%s", good, code, out)
	}
	out, code = runExit(t, cliEnv(), "validate", "--config", good, broken)
	if code != 2 || !strings.Contains(out, "two config paths") {
		t.Errorf("two paths: exit %d, want 2:\n%s", code, out)
	}
	out, code = runExit(t, cliEnv(), "validate", good, broken)
	if code != 2 || !strings.Contains(out, "one config path at most") {
		t.Errorf("two positional paths: exit %d, want 2:\n%s", code, out)
	}
}

// TestCLIRunPositionalAndEnv: `llmgate run config.yaml` serves that file and
// says so; PORT and HOST are read as LiteLLM reads them; LITELLM_MASTER_KEY
// is the master key when the config has none; `--num_workers` sets Envoy's
// concurrency; `llmgate --config FILE` (no command) runs, as `litellm
// --config` does.
func TestCLIRunPositionalAndEnv(t *testing.T) {
	cfg := writeConfig(t, opsConfig)
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	g := startLLMGate(t, url, cliEnv("PORT="+fmt.Sprint(port), "HOST=127.0.0.1", "LITELLM_MASTER_KEY=sk-from-env"),
		"run", cfg, "--envoy", envoyBin, "--num_workers", "1")
	for end := time.Now().Add(5 * time.Second); !strings.Contains(g.Stderr(), `msg="gateway ready"`) && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(g.Stderr(), `msg="gateway ready"`) {
		t.Errorf("no ready line once the listener serves:\n%s", g.Stderr())
	}
	abs, _ := filepath.Abs(cfg)
	if !strings.Contains(g.Stderr(), `msg="serving config" config=`+abs) {
		t.Errorf("the log does not name the served file %s:\n%s", abs, g.Stderr())
	}
	body := `{"model":"gpt-ops","messages":[{"role":"user","content":"hi"}]}`
	if code, _, b := post(t, url+"/v1/chat/completions", "", body); code != 401 {
		t.Errorf("no key: %d %s, want 401 (LITELLM_MASTER_KEY ignored)", code, b)
	}
	if code, _, b := post(t, url+"/v1/chat/completions", "sk-from-env", body); code != 200 || !strings.Contains(string(b), "ops ok") {
		t.Errorf("LITELLM_MASTER_KEY: %d %s", code, b)
	}
	if args := envoyArgs(t, g.cmd.Process.Pid); !regexp.MustCompile(`--concurrency 1( |$)`).MatchString(args) {
		t.Errorf("--num_workers 1 did not reach Envoy: %s", args)
	}
	g.Stop()

	// The config's master_key wins over LITELLM_MASTER_KEY, as in LiteLLM;
	// no command and --config is `run`.
	cfg2 := writeConfig(t, opsConfig+"general_settings: {master_key: sk-from-config}\n")
	port = freePort(t)
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	startLLMGate(t, url, cliEnv("LITELLM_MASTER_KEY=sk-from-env"),
		"--config", cfg2, "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--envoy", envoyBin, "--envoy-concurrency", "1")
	if code, _, b := post(t, url+"/v1/chat/completions", "sk-from-env", body); code != 401 {
		t.Errorf("env key with a config master_key: %d %s, want 401", code, b)
	}
	if code, _, b := post(t, url+"/v1/chat/completions", "sk-from-config", body); code != 200 {
		t.Errorf("config master_key: %d %s", code, b)
	}
}

// envoyArgs is the command line of the Envoy that llmgate (pid) started.
func envoyArgs(t *testing.T, pid int) string {
	t.Helper()
	cmdline, _ := os.ReadFile(filepath.Join(envoyProc(t, pid), "cmdline"))
	return strings.ReplaceAll(string(cmdline), "\x00", " ")
}

// envoyProc is the /proc directory of the Envoy that llmgate (pid) started:
// its child whose command line has --config-path.
func envoyProc(t *testing.T, pid int) string {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		stat, err := os.ReadFile(filepath.Join(p, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 || f[1] != fmt.Sprint(pid) {
			continue
		}
		if cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline")); strings.Contains(string(cmdline), "--config-path") {
			return p
		}
	}
	t.Fatalf("no Envoy child of pid %d", pid)
	return ""
}

// TestCLIEmbeddedExampleLoopback: with no config the embedded example (mock
// answers, no key) binds 127.0.0.1 only and the log says so.
func TestCLIEmbeddedExampleLoopback(t *testing.T) {
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	g := startLLMGate(t, url, cliEnv("PORT="+fmt.Sprint(port)), "run", "--envoy", envoyBin, "--envoy-concurrency", "1")
	logs := g.Stderr()
	if !strings.Contains(logs, "no config file given") || !strings.Contains(logs, "host=127.0.0.1") {
		t.Errorf("the log does not say the embedded example is served on 127.0.0.1:\n%s", logs)
	}
	if !strings.Contains(logs, fmt.Sprintf("listen=127.0.0.1:%d", port)) {
		t.Errorf("Envoy does not listen on 127.0.0.1:%d:\n%s", port, logs)
	}
	// Nothing listens on the wildcard address for that port.
	if listensOnWildcard(t, port) {
		t.Errorf("port %d is bound on 0.0.0.0", port)
	}
}

// listensOnWildcard reports whether a LISTEN socket holds 0.0.0.0:port or [::]:port.
func listensOnWildcard(t *testing.T, port int) bool {
	t.Helper()
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 4 || fields[3] != "0A" {
				continue
			}
			addr, p, ok := strings.Cut(fields[1], ":")
			if !ok || p != fmt.Sprintf("%04X", port) {
				continue
			}
			if strings.Trim(addr, "0") == "" {
				return true
			}
		}
	}
	return false
}

// TestCLIVersionAndHelp: --version names llmgate's module version and the
// Envoy version; --help lists the environment variables read.
func TestCLIVersionAndHelp(t *testing.T) {
	needEnvoy(t)
	out, code := runExit(t, cliEnv("ENVOY_BIN="+envoyBin), "--version")
	if code != 0 || !regexp.MustCompile(`(?m)^llmgate \S+`).MatchString(out) || !regexp.MustCompile(`(?m)^envoy \S*/1\.\d+\.\d+/`).MatchString(out) {
		t.Errorf("--version: exit %d:\n%s", code, out)
	}
	out, code = runExit(t, cliEnv(), "--help")
	for _, v := range []string{"LITELLM_MASTER_KEY", "PORT", "HOST", "CONFIG_FILE_PATH", "DATABASE_URL", "REDIS_HOST", "NUM_WORKERS", "ENVOY_BIN"} {
		if code != 0 || !strings.Contains(out, v) {
			t.Errorf("--help: exit %d, lacks %s", code, v)
		}
	}
	out, _ = runExit(t, cliEnv(), "run", "-h")
	if !strings.Contains(out, "LITELLM_MASTER_KEY") || !strings.Contains(out, "-num_workers") {
		t.Errorf("run -h lacks the environment or --num_workers:\n%s", out)
	}
}
