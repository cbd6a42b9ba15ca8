package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Part is one process (or process tree) of a target whose memory and CPU are
// reported.
type Part struct {
	Name string
	PIDs func() []int
}

// Sample sums /proc over the part's processes.
func (p Part) Sample() ProcSample {
	var s ProcSample
	for _, pid := range p.PIDs() {
		x, err := readProc(pid)
		if err != nil {
			continue
		}
		s.RSS += x.RSS
		s.HWM += x.HWM
		s.CPU += x.CPU
	}
	return s
}

// Target is a running system that serves chat completions.
type Target struct {
	Endpoint
	Proc  *Proc // nil for the fake provider's own entry
	Parts []Part
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitServing polls the endpoint with a real chat request until it answers
// 200, the process exits or the timeout passes.
func waitServing(e Endpoint, p *Proc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: 5 * time.Second}
	var last string
	for time.Now().Before(deadline) {
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited before it served:\n%s", p.Name, p.LogTail(4000))
		}
		req, _ := http.NewRequest(http.MethodPost, e.URL, bytes.NewReader(ChatBody(e.Model, false)))
		req.Header = e.target(false).Header
		resp, err := c.Do(req)
		if err == nil {
			b := make([]byte, 512)
			n, _ := resp.Body.Read(b)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("status %d: %s", resp.StatusCode, b[:n])
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	tail := ""
	if p != nil {
		tail = "\n" + p.LogTail(4000)
	}
	return fmt.Errorf("%s not serving after %s (last: %s)%s", e.Name, timeout, last, tail)
}

func bearer() http.Header {
	return http.Header{"Authorization": {"Bearer " + MasterKey}}
}

func single(pid int) func() []int { return func() []int { return []int{pid} } }

// StartFake runs bin/fakellm with a fixed reply size and stream shape.
func StartFake(o *Options) (*Target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	argv := o.Pin.command(o.Pin.LoadCPU, []string{o.FakeLLMBin, "--addr", "127.0.0.1:" + strconv.Itoa(port),
		"--reply-size", strconv.Itoa(o.ReplySize), "--stream-chunks", strconv.Itoa(o.StreamChunks),
		"--chunk-delay", o.ChunkDelay.String(), "--no-record"})
	p, err := startProc("fakellm", o.WorkDir, argv, nil)
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	t := &Target{Endpoint: Endpoint{Name: "direct", URL: base + "/v1/chat/completions", Model: "gpt-4o", Header: bearer()}, Proc: p,
		Parts: []Part{{Name: "fakellm", PIDs: single(p.PID())}}}
	if err := waitServing(t.Endpoint, p, 15*time.Second); err != nil {
		p.Stop(time.Second)
		return nil, err
	}
	return t, nil
}

// FakeBase is the fake provider's base URL (scheme://host:port).
func (t *Target) FakeBase() string {
	u, _ := url.Parse(t.URL)
	return u.Scheme + "://" + u.Host
}

// StartPlainEnvoy runs Envoy with PlainEnvoyBootstrap in front of the fake.
func StartPlainEnvoy(o *Options, fake *Target) (*Target, error) {
	return startStaticEnvoy(o, fake, "plain-envoy", PlainEnvoyBootstrapJSON, nil)
}

// startStaticEnvoy runs Envoy (as name, with env) on the bootstrap boot
// renders for a free port in front of the fake.
func startStaticEnvoy(o *Options, fake *Target, name string, boot func(int, string, int) ([]byte, error), env []string) (*Target, error) {
	u, _ := url.Parse(fake.URL)
	fport, _ := strconv.Atoi(u.Port())
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	b, err := boot(port, u.Hostname(), fport)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(o.WorkDir, name+".json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	argv := o.Pin.command(o.Pin.SUTCPU, []string{o.EnvoyBin, "--config-path", path, "--log-level", "warn",
		"--concurrency", strconv.Itoa(o.EnvoyConcurrency), "--base-id", strconv.Itoa((os.Getpid()+port)%60000 + 1), "--disable-hot-restart"})
	p, err := startProc(name, o.WorkDir, argv, env)
	if err != nil {
		return nil, err
	}
	t := &Target{Endpoint: Endpoint{Name: "envoy", URL: fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", port), Model: "gpt-4o", Header: bearer()}, Proc: p,
		Parts: []Part{{Name: "envoy", PIDs: single(p.PID())}}}
	if err := waitServing(t.Endpoint, p, 30*time.Second); err != nil {
		p.Stop(time.Second)
		return nil, err
	}
	return t, nil
}

// StartLLMGate runs `llmgate run` on the typical config.
func StartLLMGate(o *Options, cfgPath string) (*Target, error) {
	return StartLLMGateAs(o, cfgPath, "llmgate", ModelGroup)
}

// StartLLMGateAs runs `llmgate run` on a config, as the target name, with
// requests for model; args are extra `llmgate run` flags. Without a
// --request-filter among them it runs the default, the module in Envoy
// (D56), and names it: a missing module fails the start rather than
// measuring ext_proc under the default's name.
func StartLLMGateAs(o *Options, cfgPath, name, model string, args ...string) (*Target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--request-filter") }) {
		args = append(args, "--request-filter=module")
	}
	argv := o.Pin.command(o.Pin.SUTCPU, append([]string{o.LLMGateBin, "run", "--config", cfgPath, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--envoy", o.EnvoyBin, "--envoy-concurrency", strconv.Itoa(o.EnvoyConcurrency), "--access-log=false"}, args...))
	// The typical config sets master_key: llmgate's key store lives in the
	// bench's temp dir, never in ~/.llmgate.
	env := []string{"LLMGATE_DATA_DIR=" + filepath.Join(o.WorkDir, "llmgate-data")}
	if o.PprofAddr != "" {
		env = append(env, "LLMGATE_PPROF_ADDR="+o.PprofAddr)
	}
	p, err := startProc(name, o.WorkDir, argv, env)
	if err != nil {
		return nil, err
	}
	t := &Target{Endpoint: Endpoint{Name: name, URL: fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", port), Model: model, Header: bearer()}, Proc: p}
	if err := waitServing(t.Endpoint, p, 60*time.Second); err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	pid := p.PID()
	envoyPIDs := func() []int {
		var out []int
		for _, c := range descendants(pid) {
			if comm(c) == "envoy" {
				out = append(out, c)
			}
		}
		return out
	}
	if len(envoyPIDs()) == 0 {
		p.Stop(5 * time.Second)
		return nil, fmt.Errorf("llmgate serves but no envoy child process was found")
	}
	t.Parts = []Part{{Name: "llmgate", PIDs: single(pid)}, {Name: "envoy", PIDs: envoyPIDs}}
	return t, nil
}

// StartRedis runs a redis-server (no persistence) for the rpm/tpm config,
// on the system under test's CPU: it is part of what llmgate costs there.
func StartRedis(o *Options) (*Proc, string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", fmt.Errorf("redis-server not found (make deps installs it)")
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	argv := o.Pin.command(o.Pin.SUTCPU, []string{bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no"})
	p, err := startProc("redis", o.WorkDir, argv, nil)
	if err != nil {
		return nil, "", err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return p, addr, nil
		}
		if p.Exited() {
			break
		}
	}
	p.Stop(time.Second)
	return nil, "", fmt.Errorf("redis-server did not listen on %s:\n%s", addr, p.LogTail(2000))
}

// StartLiteLLM runs LiteLLM's proxy (one worker) on the same config.
func StartLiteLLM(o *Options, cfgPath string) (*Target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	argv := o.Pin.command(o.Pin.SUTCPU, []string{o.LiteLLMBin, "--config", cfgPath, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--num_workers", "1"})
	env := []string{"LITELLM_LOCAL_MODEL_COST_MAP=True", "LITELLM_LOG=ERROR", "LITELLM_TELEMETRY=False", "DISABLE_ADMIN_UI=True", "NO_DOCS=True"}
	p, err := startProc("litellm", o.WorkDir, argv, env)
	if err != nil {
		return nil, err
	}
	t := &Target{Endpoint: Endpoint{Name: "litellm", URL: fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", port), Model: ModelGroup, Header: bearer()}, Proc: p}
	if err := waitServing(t.Endpoint, p, 120*time.Second); err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	pid := p.PID()
	t.Parts = []Part{{Name: "litellm", PIDs: func() []int { return append([]int{pid}, descendants(pid)...) }}}
	return t, nil
}

// Stop ends the target's process.
func (t *Target) Stop() {
	if t != nil && t.Proc != nil {
		t.Proc.Stop(5 * time.Second)
	}
}

// postOnce sends one chat request and returns the response headers.
func postOnce(ctx context.Context, c *http.Client, e Endpoint) (int, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(ChatBody(e.Model, false)))
	if err != nil {
		return 0, nil, err
	}
	req.Header = e.target(false).Header
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	_, _ = bytes.NewBuffer(nil).ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, nil
}
