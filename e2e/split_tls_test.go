package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// testPKI is a CA with a server certificate (llmgate.test, 127.0.0.1) and a
// client certificate, written as PEM files.
type testPKI struct{ CA, ServerCert, ServerKey, ClientCert, ClientKey string }

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	caKey := key()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "llmgate test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, []byte) {
		k := key()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: []string{"llmgate.test"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der, kder
	}
	sc, sk := leaf(2, "llmgate.test", x509.ExtKeyUsageServerAuth)
	cc, ck := leaf(3, "envoy", x509.ExtKeyUsageClientAuth)
	return testPKI{
		CA:         write("ca.pem", "CERTIFICATE", caDER),
		ServerCert: write("server.pem", "CERTIFICATE", sc), ServerKey: write("server-key.pem", "EC PRIVATE KEY", sk),
		ClientCert: write("client.pem", "CERTIFICATE", cc), ClientKey: write("client-key.pem", "EC PRIVATE KEY", ck),
	}
}

// TestSplitModeMTLS (issue 13 item 7): the control plane, an ext_proc
// replica and Envoy talk over mTLS only — Envoy → control plane (bootstrap),
// ext_proc → control plane (routing table), Envoy → ext_proc (the cluster
// the control plane pushes) — and a request is served. Both gRPC servers
// answer grpc.health.v1 over mTLS, and refuse a plaintext client and a TLS
// client without a certificate.
func TestSplitModeMTLS(t *testing.T) {
	s := newSplit(t)
	pki := newTestPKI(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfgPath := s.write("config.yaml", []byte(splitConfig(fake.URL(), "/mtls")))
	extAddr, xdsAddr, port := fmt.Sprintf("127.0.0.1:%d", freePort(t)), s.xdsAddr, s.port
	serve := []string{"--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--tls-client-ca", pki.CA}
	s.start(nil, append([]string{llmgateBin, "controlplane", cfgPath, "--listen", xdsAddr, "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"--extproc-address", extAddr, "--extproc-tls-ca", pki.CA, "--extproc-tls-cert", pki.ClientCert, "--extproc-tls-key", pki.ClientKey,
		"--extproc-tls-server-name", "llmgate.test"}, serve...)...)
	s.start(nil, append([]string{llmgateBin, "extproc", "--listen", extAddr, "--xds-address", xdsAddr,
		"--xds-tls-ca", pki.CA, "--xds-tls-cert", pki.ClientCert, "--xds-tls-key", pki.ClientKey, "--xds-tls-server-name", "llmgate.test"}, serve...)...)
	s.envoy(nil, 1, "--xds-tls-ca", pki.CA, "--xds-tls-cert", pki.ClientCert, "--xds-tls-key", pki.ClientKey, "--xds-tls-server-name", "llmgate.test")
	// Readiness is answered by ext_proc: 200 means Envoy → control plane and
	// Envoy → ext_proc both work.
	s.waitReady("/health/readiness", 1)
	url, logs := s.url, &s.logs
	body := `{"model":"gpt-x","messages":[{"role":"user","content":"over mtls"}]}`
	// The ext_proc replica took its config from the control plane (mTLS too):
	// it serves the model group.
	code, _, b := post(t, url+"/v1/chat/completions", master, body)
	if code != 200 || !strings.Contains(string(b), "over mtls") {
		t.Fatalf("status %d: %s", code, b)
	}
	if rec, _ := fake.Last(); rec.Path != "/mtls/v1/chat/completions" {
		t.Errorf("upstream path %s", rec.Path)
	}
	for _, want := range []string{`msg="control plane serving ADS" address=` + xdsAddr + ` tls=mtls`, `msg="ext_proc serving" address=` + extAddr + ` tls=mtls`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q", want)
		}
	}

	// Every process names the same config version.
	cpV := regexp.MustCompile(`msg="control plane serving ADS" .*config_version=(\w+)`).FindStringSubmatch(logs.String())
	epV := regexp.MustCompile(`msg="ext_proc serving" .*config_version=(\w+)`).FindStringSubmatch(logs.String())
	if cpV == nil || epV == nil || cpV[1] != epV[1] {
		t.Errorf("config versions differ: control plane %v, ext_proc %v", cpV, epV)
	}

	// grpc.health.v1 on both listeners.
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(pki.CA)
	pool.AppendCertsFromPEM(caPEM)
	clientPair, err := tls.LoadX509KeyPair(pki.ClientCert, pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	mtls := credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "llmgate.test", Certificates: []tls.Certificate{clientPair}})
	noCert := credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "llmgate.test"})
	check := func(addr, service string, creds credentials.TransportCredentials) (healthpb.HealthCheckResponse_ServingStatus, error) {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return 0, err
		}
		return resp.Status, nil
	}
	for _, tc := range []struct{ addr, service string }{
		{xdsAddr, ""}, {xdsAddr, "envoy.service.discovery.v3.AggregatedDiscoveryService"},
		{extAddr, ""}, {extAddr, "envoy.service.ext_proc.v3.ExternalProcessor"},
	} {
		if st, err := check(tc.addr, tc.service, mtls); err != nil || st != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %s %q over mTLS: %v %v", tc.addr, tc.service, st, err)
		}
		if _, err := check(tc.addr, tc.service, insecure.NewCredentials()); err == nil {
			t.Errorf("health %s answered a plaintext client", tc.addr)
		}
		if _, err := check(tc.addr, tc.service, noCert); err == nil {
			t.Errorf("health %s answered a TLS client without a certificate", tc.addr)
		}
	}
}
