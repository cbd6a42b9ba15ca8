package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a redis-server process owned by one test.
type Server struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	// argv, when set, are the process's arguments (port and dir known)
	// instead of a plain server's.
	argv func(port int, dir string) []string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start runs a redis-server and returns its address and a stop function
// (also registered with t.Cleanup).
func Start(t testing.TB) (addr string, stop func()) {
	s := StartServer(t)
	return s.Addr(), s.Stop
}

// StartServer runs a redis-server on a free 127.0.0.1 port.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return start(t, nil)
}

// StartServerArgs is StartServer with more redis-server arguments.
func StartServerArgs(t testing.TB, extra ...string) *Server {
	t.Helper()
	return start(t, func(port int, dir string) []string {
		return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no"}, extra...)
	})
}

func start(t testing.TB, argv func(port int, dir string) []string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if _, statErr := os.Stat("/usr/bin/redis-server"); statErr == nil {
			bin = "/usr/bin/redis-server"
		} else if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server not found (CI=true): install the Debian package redis-server")
		} else {
			t.Skip("redis-server not found; skipping (set CI=true to make this a failure)")
		}
	}
	s := &Server{t: t, bin: bin, port: freePort(t), dir: t.TempDir(), argv: argv}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr is host:port of the server (stable across restarts).
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Stop kills the server (idempotent).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port, empty (no persistence),
// and waits until it answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--protected-mode", "no"}
	if s.argv != nil {
		args = s.argv(s.port, s.dir)
	}
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ping(s.Addr()) == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	s.cmd = nil
	s.t.Fatalf("redistest: redis-server on %s did not answer PING within 5s", s.Addr())
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") { // (a password: alive)
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}
