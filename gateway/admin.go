package gateway

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// adminEndpoint is where Envoy's admin interface listens: a Unix socket in
// the private work dir (the default), or a TCP address that Envoy writes to
// addressFile once bound (--admin-address).
type adminEndpoint struct {
	socket      string
	addressFile string
	tcp         string // filled from addressFile
}

// address is what the log names: "unix:<path>" or host:port; false until
// Envoy has bound it.
func (a *adminEndpoint) address() (string, bool) {
	if a.socket != "" {
		if _, err := os.Stat(a.socket); err != nil {
			return "", false
		}
		return "unix:" + a.socket, true
	}
	b, err := os.ReadFile(a.addressFile)
	if err != nil || len(b) == 0 {
		return "", false
	}
	a.tcp = strings.TrimSpace(string(b))
	return a.tcp, true
}

// url is the base URL the client below reaches the admin interface at.
func (a *adminEndpoint) url() string {
	if a.socket != "" {
		return "http://envoy-admin"
	}
	return "http://" + a.tcp
}

// client talks to the admin interface (over the socket when there is one).
func (a *adminEndpoint) client() *http.Client {
	c := &http.Client{Timeout: time.Second}
	if a.socket != "" {
		sock := a.socket
		c.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}
	}
	return c
}
