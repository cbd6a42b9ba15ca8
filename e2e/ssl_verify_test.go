package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// tlsFake serves a fake provider over TLS (h2 and http/1.1) with cfg's
// certificate settings, and records the curve and client certificate of
// each handshake.
type tlsFake struct {
	*fakeprovider.Server
	URL string

	mu       sync.Mutex
	curves   []tls.CurveID
	clients  []string
	versions []uint16
}

func startTLSFake(t *testing.T, cfg *tls.Config) *tlsFake {
	t.Helper()
	f := &tlsFake{Server: fakeprovider.StartT(t, fakeprovider.Options{})}
	ts := httptest.NewUnstartedServer(f.Server)
	ts.EnableHTTP2 = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.curves = append(f.curves, cs.CurveID)
		f.versions = append(f.versions, cs.Version)
		if len(cs.PeerCertificates) > 0 {
			f.clients = append(f.clients, cs.PeerCertificates[0].Subject.CommonName)
		}
		return nil
	}
	ts.TLS = cfg
	ts.StartTLS()
	t.Cleanup(ts.Close)
	f.URL = ts.URL
	return f
}

func (f *tlsFake) handshakes() ([]tls.CurveID, []string, []uint16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tls.CurveID(nil), f.curves...), append([]string(nil), f.clients...), append([]uint16(nil), f.versions...)
}

// TestSSLVerify (D112): the deployments' https hosts are verified by
// default, so a certificate from an unknown CA is refused — the client gets
// an OpenAI-format error and the provider no request. ssl_verify naming the
// CA bundle serves through it, with ssl_certificate presented to a host
// that requires a client certificate, ssl_ecdh_curve the curve agreed and
// TLS 1.3 the version;
// SSL_VERIFY=False wins over ssl_verify: true, as LiteLLM's environment
// does. The hosts are IP addresses: the certificate's IP SAN is checked.
func TestSSLVerify(t *testing.T) {
	pki := newTestPKI(t)
	serverCert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(pki.CA)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(caPEM)
	// ssl_certificate is one PEM file with the certificate and its key.
	clientPEM := filepath.Join(t.TempDir(), "client.pem")
	var both []byte
	for _, p := range []string{pki.ClientCert, pki.ClientKey} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		both = append(both, b...)
	}
	if err := os.WriteFile(clientPEM, both, 0o600); err != nil {
		t.Fatal(err)
	}

	config := func(apiBase, settings string) string {
		return fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %s/v1, api_key: k}
general_settings:
  master_key: %s
litellm_settings:
  num_retries: 0
%s`, apiBase, master, settings)
	}
	chat := chatBody("gpt-x", "hello over tls")

	t.Run("unknown CA refused by default", func(t *testing.T) {
		fake := startTLSFake(t, &tls.Config{Certificates: []tls.Certificate{serverCert}})
		g := startGateway(t, config(fake.URL, ""))
		code, _, b := do(t, "POST", g.URL+"/v1/chat/completions", master, chat)
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if code < 500 || json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
			t.Errorf("an upstream with an unknown CA: %d %s, want a 5xx OpenAI error\n%s", code, b, g.Logs())
		}
		if n := fake.Count("/v1/chat/completions"); n != 0 {
			t.Errorf("the provider got %d requests through a certificate Envoy must refuse", n)
		}
	})

	t.Run("CA bundle, client certificate, curve", func(t *testing.T) {
		fake := startTLSFake(t, &tls.Config{Certificates: []tls.Certificate{serverCert},
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs})
		g := startGateway(t, config(fake.URL, fmt.Sprintf(`  ssl_verify: %s
  ssl_certificate: %s
  ssl_ecdh_curve: secp384r1
`, pki.CA, clientPEM)))
		code, _, b := do(t, "POST", g.URL+"/v1/chat/completions", master, chat)
		if code != 200 {
			t.Fatalf("through the CA bundle with a client certificate: %d %s\n%s", code, b, g.Logs())
		}
		curves, clients, versions := fake.handshakes()
		if len(curves) == 0 || len(clients) != len(curves) {
			t.Fatalf("handshakes: curves %v, client certificates %v", curves, clients)
		}
		for i := range curves {
			// TLS 1.3: with 1.2 (Envoy's client default) BoringSSL also
			// requires the server's ECDSA curve (P-256) among the offered.
			if curves[i] != tls.CurveP384 || clients[i] != "envoy" || versions[i] != tls.VersionTLS13 {
				t.Errorf("handshake %d: curve %v, client %q, version %x; want P-384, the client certificate \"envoy\", TLS 1.3", i, curves[i], clients[i], versions[i])
			}
		}
	})

	// ssl_security_level (D121): a host that speaks only an older TLS 1.2
	// cipher (CBC, outside Envoy's default list) is refused by default and
	// served once the cipher string names it.
	t.Run("ssl_security_level names a legacy cipher", func(t *testing.T) {
		legacy := func() *tls.Config {
			// HTTP/1.1 only: HTTP/2 refuses CBC suites (RFC 7540, Appendix A),
			// as such a legacy host would not speak it.
			return &tls.Config{Certificates: []tls.Certificate{serverCert}, MaxVersion: tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}, NextProtos: []string{"http/1.1"}}
		}
		fake := startTLSFake(t, legacy())
		g := startGateway(t, config(fake.URL, "  ssl_verify: "+pki.CA+"\n"))
		if code, _, b := do(t, "POST", g.URL+"/v1/chat/completions", master, chat); code < 500 {
			t.Errorf("a legacy-cipher host with Envoy's default ciphers: %d %s, want a 5xx", code, b)
		}
		if n := fake.Count("/v1/chat/completions"); n != 0 {
			t.Errorf("the provider got %d requests over a cipher Envoy does not offer by default", n)
		}
		fake = startTLSFake(t, legacy())
		g = startGateway(t, config(fake.URL, "  ssl_verify: "+pki.CA+"\n  ssl_security_level: \"ECDHE-ECDSA-AES128-SHA:DEFAULT:@SECLEVEL=1\"\n"))
		code, _, b := do(t, "POST", g.URL+"/v1/chat/completions", master, chat)
		if code != 200 {
			t.Fatalf("with ssl_security_level naming the cipher: %d %s\n%s", code, b, g.Logs())
		}
		if _, _, versions := fake.handshakes(); len(versions) == 0 || versions[0] != tls.VersionTLS12 {
			t.Errorf("handshake versions %x, want TLS 1.2", versions)
		}
	})

	t.Run("SSL_VERIFY=False wins", func(t *testing.T) {
		fake := startTLSFake(t, &tls.Config{Certificates: []tls.Certificate{serverCert}})
		g := startGateway(t, config(fake.URL, "  ssl_verify: true\n"), "SSL_VERIFY=False")
		code, _, b := do(t, "POST", g.URL+"/v1/chat/completions", master, chat)
		if code != 200 {
			t.Fatalf("with SSL_VERIFY=False: %d %s\n%s", code, b, g.Logs())
		}
		if n := fake.Count("/v1/chat/completions"); n != 1 {
			t.Errorf("the provider got %d requests, want 1", n)
		}
	})
}
