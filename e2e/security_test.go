package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startGatewayArgs is startGateway with extra `llmgate run` flags.
func startGatewayArgs(t *testing.T, configYAML string, args []string, env ...string) *Gateway {
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
	g.cmd.Env = append(os.Environ(), env...)
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	g.cmd.Stdout = &lockedWriter{mu: &g.mu, w: &g.stdout}
	g.cmd.Stderr = &lockedWriter{mu: &g.mu, w: &g.stderr}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(g.Stop)
	g.waitReady()
	return g
}

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
