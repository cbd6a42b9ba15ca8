package callbacks

import (
	"crypto/tls"
	"net/http"
	"sync"
)

// sdkClient holds the AWS SDK client built for one settings value S and
// builds it again when a reload changes them (the s3 and aws_sqs senders).
type sdkClient[S comparable, C any] struct {
	mu  sync.Mutex
	st  S
	cli C
	ok  bool
}

// get is the client of st, built by build over the HTTP client the
// settings ask for (verifyingClient) when st differs from the last one.
func (c *sdkClient[S, C]) get(st S, base *http.Client, insecure bool, build func(hc *http.Client) C) C {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && c.st == st {
		return c.cli
	}
	c.st, c.cli, c.ok = st, build(verifyingClient(base, insecure)), true
	return c.cli
}

// verifyingClient is base, or with insecure (s3_verify / sqs_verify:
// false, as configured) a client of base's timeout that does not verify
// the server's certificate.
func verifyingClient(base *http.Client, insecure bool) *http.Client {
	if !insecure {
		return base
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // *_verify: false, as configured
	return &http.Client{Timeout: base.Timeout, Transport: tr}
}
