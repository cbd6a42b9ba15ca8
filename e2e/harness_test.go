package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
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

	"github.com/llmgate/llmgate/envoy"
)

var (
	llmgateBin string
	// moduleLib is the request filter module (`make build` builds it as
	// bin/libllmgate.so), next to llmgateBin where `llmgate run` looks for
	// it (D53, D56). LLMGATE_REQUEST_FILTER=module|extproc|auto in the
	// environment runs every gateway a test starts, but those that pin
	// their request filter, with it.
	moduleLib string
	envoyBin  string
	setupErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// `make unit` (-short) is the fast loop: these tests start Envoy and
		// take minutes. This is the only skip: without -short (CI=true or
		// not) a missing Envoy fails every test.
		fmt.Println("e2e: skipped under -short; `make test` runs it")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "llmgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	llmgateBin = filepath.Join(dir, "llmgate")
	out, err := exec.Command("go", "build", "-o", llmgateBin, "../cmd/llmgate").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build llmgate: %v\n%s", err, out)
		os.Exit(1)
	}
	moduleLib = filepath.Join(dir, "libllmgate.so")
	out, err = exec.Command("go", "build", "-buildmode=c-shared", "-o", moduleLib, "../dynmod").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build the request filter module: %v\n%s", err, out)
		os.Exit(1)
	}
	envoyBin, setupErr = envoy.FindBinary()
	// Every llmgate a test starts without a data dir of its own (split-mode
	// processes, CLI runs) keeps its key store here, not in ~/.llmgate.
	if os.Getenv("LLMGATE_DATA_DIR") == "" {
		os.Setenv("LLMGATE_DATA_DIR", filepath.Join(dir, "data"))
	}
	// The module's cgo pointer checks stay on in the tests (llmgate run
	// turns them off for Envoy unless GODEBUG sets cgocheck, D70).
	if !strings.Contains(os.Getenv("GODEBUG"), "cgocheck=") {
		os.Setenv("GODEBUG", strings.TrimPrefix(os.Getenv("GODEBUG")+",cgocheck=1", ","))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needEnvoy fails the test when Envoy is missing: the end-to-end tests are
// the product's proof, never silently skipped (`make deps` installs Envoy).
func needEnvoy(t *testing.T) {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("envoy is required (run `make deps`, or set $ENVOY_BIN): %v", setupErr)
	}
}

// freePort is a loopback port nothing listens on now.
// A port is handed out once per test binary: the kernel may give a port it
// just closed to the next listen, and two picks of one test (an Envoy
// listener and an ext_proc address) then collided (TestBYODynamicWay: Envoy
// could not bind the port the ext_proc server had taken).
func freePort(t *testing.T) int {
	t.Helper()
	freePorts.Lock()
	defer freePorts.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !freePorts.given[port] {
			freePorts.given[port] = true
			return port
		}
	}
	t.Fatal("no port that was not handed out before")
	return 0
}

var freePorts = struct {
	sync.Mutex
	given map[int]bool
}{given: map[int]bool{}}

// Gateway is a running `llmgate run` process.
type Gateway struct {
	t          *testing.T
	URL        string
	ConfigPath string
	cmd        *exec.Cmd
	mu         sync.Mutex
	stdout     bytes.Buffer
	stderr     bytes.Buffer
	done       chan struct{}
	// readyWithin bounds the wait for readiness (30 s when zero).
	readyWithin time.Duration
}

// startGateway writes the config and runs llmgate on a free port until the test ends.
func startGateway(t *testing.T, configYAML string, env ...string) *Gateway {
	t.Helper()
	return startGatewayArgs(t, configYAML, nil, env...)
}

// startGatewayArgs is startGateway with extra `llmgate run` flags. A gateway
// that finds its free port taken meanwhile (another test's gateway got the
// same one: Envoy's listener no longer shares a port, D50) is started again
// on another port, twice at most.
func startGatewayArgs(t *testing.T, configYAML string, args []string, env ...string) *Gateway {
	t.Helper()
	for attempt := 1; ; attempt++ {
		g := newGateway(t, configYAML, args, env...)
		g.start(t)
		err := g.ready()
		if err == nil {
			return g
		}
		if attempt < 3 && g.portTaken() {
			t.Logf("%s was taken by another process before this gateway bound it; starting again on another port", g.URL)
			continue
		}
		t.Fatalf("%v:\n%s", err, g.Logs())
	}
}

// newGateway prepares `llmgate run` on the config (not started: launch).
func newGateway(t *testing.T, configYAML string, args []string, env ...string) *Gateway {
	t.Helper()
	needEnvoy(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	g := &Gateway{t: t, URL: fmt.Sprintf("http://127.0.0.1:%d", port), ConfigPath: path, done: make(chan struct{})}
	g.cmd = exec.Command(llmgateBin, append([]string{"run", "--config", path, "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"--envoy", envoyBin, "--envoy-concurrency", "2"}, args...)...)
	// Each gateway keeps its key store and spend file in the test's own dir.
	g.cmd.Env = append(append(os.Environ(), "LLMGATE_DATA_DIR="+filepath.Join(dir, "data")), env...)
	return g
}

// launch starts g.cmd (built by the caller) with its output captured, stops
// it when the test ends, and waits until the gateway is ready.
func (g *Gateway) launch(t *testing.T) *Gateway {
	t.Helper()
	g.start(t)
	g.waitReady()
	return g
}

// start starts g.cmd with its output captured and stops it when the test ends.
func (g *Gateway) start(t *testing.T) {
	t.Helper()
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	g.cmd.Stdout = &lockedWriter{mu: &g.mu, w: &g.stdout}
	g.cmd.Stderr = &lockedWriter{mu: &g.mu, w: &g.stderr}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(g.Stop)
}

func (g *Gateway) waitReady() {
	g.t.Helper()
	if err := g.ready(); err != nil {
		g.t.Fatalf("%v:\n%s", err, g.Logs())
	}
}

// ready waits until the gateway answers /health/readiness with 200; an error
// when it exited first or did not within readyWithin (30 s when zero).
func (g *Gateway) ready() error {
	within := g.readyWithin
	if within == 0 {
		within = 30 * time.Second
	}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-g.done:
			return errors.New("llmgate exited before it was ready")
		default:
		}
		resp, err := http.Get(g.URL + "/health/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("llmgate not ready in %s", within)
}

// portTaken reports whether the gateway exited because its port was bound by
// someone else between freePort and Envoy's bind.
func (g *Gateway) portTaken() bool {
	select {
	case <-g.done:
	default:
		return false
	}
	l := g.Logs()
	return strings.Contains(l, "cannot listen on") ||
		(strings.Contains(l, "envoy rejected the listener") && strings.Contains(l, "Address already in use"))
}

// Stop sends SIGTERM and waits (then SIGKILL).
func (g *Gateway) Stop() {
	select {
	case <-g.done:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
		<-g.done
	}
	if g.t.Failed() {
		g.t.Logf("llmgate logs:\n%s", g.Logs())
	}
}

// Logs are llmgate's stderr and stdout (Envoy's access log).
func (g *Gateway) Logs() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return "--- stderr\n" + g.stderr.String() + "--- stdout\n" + g.stdout.String()
}

// Stdout is the access log so far.
func (g *Gateway) Stdout() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stdout.String()
}

// Stderr is llmgate's own log so far.
func (g *Gateway) Stderr() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stderr.String()
}

// WriteConfig replaces the config file (atomically, as editors do).
func (g *Gateway) WriteConfig(yaml string) {
	g.t.Helper()
	tmp := g.ConfigPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(yaml), 0o600); err != nil {
		g.t.Fatal(err)
	}
	if err := os.Rename(tmp, g.ConfigPath); err != nil {
		g.t.Fatal(err)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// post sends a JSON body and returns status, headers and body.
func post(t *testing.T, url, key, body string) (int, http.Header, []byte) {
	t.Helper()
	return do(t, "POST", url, key, body)
}

func do(t *testing.T, method, url, key, body string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	if key != "" {
		req.Header.Set("authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// sseEvents reads "data:" payloads from an SSE body.
func sseEvents(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "data:") {
			out = append(out, strings.TrimSpace(strings.TrimPrefix(line, "data:")))
		}
	}
	return out
}
