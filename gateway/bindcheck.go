package gateway

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// checkBind tries the listen address before Envoy starts, so a busy port ends
// `llmgate run` at once with exit 1 naming the port (and, on Linux, the
// process holding it) instead of an Envoy that never becomes ready. Port 0
// (Envoy picks one) is not checked.
func checkBind(host string, port uint32) error {
	if port == 0 {
		return nil
	}
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
	// The family of the address, as Envoy binds it: "tcp" would make
	// 0.0.0.0 a dual-stack [::] socket, which Linux lets share a port with an
	// IPv4 listener.
	network := "tcp"
	if ip := net.ParseIP(host); ip != nil {
		network = "tcp6"
		if ip.To4() != nil {
			network = "tcp4"
		}
	}
	l, err := net.Listen(network, addr)
	if err == nil {
		return l.Close()
	}
	msg := fmt.Sprintf("cannot listen on %s: %v", addr, err)
	if holder := portHolder(port); holder != "" {
		msg += "; held by " + holder
	}
	return fmt.Errorf("%s (choose another port with --port or $PORT)", msg)
}

// portHolder names the process listening on the TCP port ("pid 123
// (envoy)"), read from /proc; empty when it cannot tell.
func portHolder(port uint32) string {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for _, ino := range listeningInodes(f, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return ""
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		fds, err := os.ReadDir(filepath.Join(p, "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(p, "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				comm, _ := os.ReadFile(filepath.Join(p, "comm"))
				return fmt.Sprintf("pid %s (%s)", filepath.Base(p), strings.TrimSpace(string(comm)))
			}
		}
	}
	return ""
}

// listeningInodes are the socket inodes in LISTEN state (0A) on the port in
// a /proc/net/tcp{,6} table.
func listeningInodes(table string, port uint32) []string {
	f, err := os.Open(table)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" || !strings.HasSuffix(fields[1], want) {
			continue
		}
		out = append(out, fields[9])
	}
	return out
}
