package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// StartCluster runs an n-node Redis Cluster (every node a master, the
// 16384 slots split between them) and waits until every node reports
// cluster_state:ok.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	nodes := make([]*Server, n)
	for i := range nodes {
		nodes[i] = StartServerArgs(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000")
	}
	const slots = 16384
	for i, s := range nodes {
		lo, hi := i*slots/n, (i+1)*slots/n-1
		if _, err := Do(s.Addr(), "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			t.Fatalf("redistest: addslots on %s: %v", s.Addr(), err)
		}
	}
	for _, s := range nodes[1:] {
		if _, err := Do(nodes[0].Addr(), "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(s.port)); err != nil {
			t.Fatalf("redistest: cluster meet: %v", err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, s := range nodes {
		for {
			info, err := Do(s.Addr(), "CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster node %s not ready: %q %v", s.Addr(), info, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nodes
}

// Sentinel is a master, its replica and one sentinel watching them.
type Sentinel struct {
	Master, Replica, Sentinel *Server
	Service                   string
}

// StartSentinel runs a master, a replica of it and a sentinel monitoring
// the master as service (quorum 1), and waits until the replica is in sync
// and the sentinel knows it. password, when set, is the sentinel's own.
func StartSentinel(t testing.TB, service, password string) *Sentinel {
	t.Helper()
	m := StartServer(t)
	r := StartServerArgs(t, "--replicaof", "127.0.0.1", strconv.Itoa(m.port))
	waitFor(t, 10*time.Second, "replica in sync", func() bool {
		info, err := Do(r.Addr(), "INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	s := start(t, func(port int, dir string) []string {
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %[3]s 1000\n"+
			"sentinel failover-timeout %[3]s 5000\n", port, dir, service, m.port)
		if password != "" {
			conf += "requirepass " + password + "\n"
		}
		path := filepath.Join(dir, "sentinel.conf")
		if _, err := os.Stat(path); err != nil {
			if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
				t.Fatalf("redistest: sentinel.conf: %v", err)
			}
		}
		return []string{path, "--sentinel"}
	})
	sn := &Sentinel{Master: m, Replica: r, Sentinel: s, Service: service}
	waitFor(t, 15*time.Second, "sentinel knows the replica", func() bool {
		out, err := sn.do("SENTINEL", "REPLICAS", service, password)
		return err == nil && strings.Contains(out, strconv.Itoa(r.port)) && !strings.Contains(out, "disconnected")
	})
	return sn
}

func (s *Sentinel) do(cmd, sub, service, password string) (string, error) {
	if password != "" {
		return DoAuth(s.Sentinel.Addr(), password, cmd, sub, service)
	}
	return Do(s.Sentinel.Addr(), cmd, sub, service)
}

// Failover makes the sentinel promote the replica (SENTINEL FAILOVER) and
// waits until it names the replica as the master.
func (s *Sentinel) Failover(t testing.TB, password string) {
	t.Helper()
	want := strconv.Itoa(s.Replica.port)
	waitFor(t, 20*time.Second, "failover", func() bool {
		out, err := s.do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.Service, password)
		if err == nil && strings.HasSuffix(strings.TrimSpace(out), want) {
			return true
		}
		_, _ = s.do("SENTINEL", "FAILOVER", s.Service, password) // NOGOODSLAVE until the sentinel is ready
		return false
	})
	waitFor(t, 10*time.Second, "the new master writable", func() bool {
		info, err := Do(s.Replica.Addr(), "INFO", "replication")
		return err == nil && strings.Contains(info, "role:master")
	})
	// The old master is a replica of the new one (read-only, in sync): no
	// write lands on it any more.
	waitFor(t, 20*time.Second, "the old master demoted and in sync", func() bool {
		info, err := Do(s.Master.Addr(), "INFO", "replication")
		return err == nil && strings.Contains(info, "role:slave") && strings.Contains(info, "master_port:"+want) &&
			strings.Contains(info, "master_link_status:up")
	})
}

func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("redistest: %s: not within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Do sends one command to a Redis and returns its reply as text (arrays
// flattened one element a line); an error reply is an error.
func Do(addr string, args ...string) (string, error) {
	return do(addr, [][]string{args})
}

// DoAuth is Do after AUTH password.
func DoAuth(addr, password string, args ...string) (string, error) {
	return do(addr, [][]string{{"AUTH", password}, args})
}

func do(addr string, cmds [][]string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	var out string
	for _, args := range cmds {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := c.Write([]byte(b.String())); err != nil {
			return "", err
		}
		var sb strings.Builder
		if err := readReply(r, &sb); err != nil {
			return sb.String(), err
		}
		out = sb.String()
	}
	return out, nil
}

func readReply(r *bufio.Reader, out *strings.Builder) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		out.WriteString(line[1:] + "\n")
	case '-':
		return errors.New(line[1:])
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		out.Write(buf[:n])
		out.WriteString("\n")
	case '*':
		n, _ := strconv.Atoi(line[1:])
		for range n {
			if err := readReply(r, out); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}
