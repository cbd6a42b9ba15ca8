package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TLSFiles are PEM files for one gRPC link llmgate serves or dials.
//
// Serving: Cert and Key are the server's certificate; ClientCA, when set,
// makes the link mTLS (a client certificate signed by it is required).
// Dialing: CA verifies the server (empty: the system roots), Cert and Key
// are the client certificate for mTLS, ServerName the name checked.
// Files are re-read when they change, so a rotated certificate is used from
// the next handshake on.
type TLSFiles struct {
	Cert, Key, CA, ClientCA, ServerName string
}

// Enabled reports whether the link uses TLS.
func (t TLSFiles) Enabled() bool { return t.Cert != "" || t.CA != "" || t.ClientCA != "" }

// serverOptions are the gRPC server options for the link: TLS credentials
// when enabled (TLS 1.2 at least).
func serverOptions(t TLSFiles) ([]grpc.ServerOption, error) {
	if !t.Enabled() {
		return nil, nil
	}
	if t.Cert == "" || t.Key == "" {
		return nil, fmt.Errorf("TLS: --tls-cert and --tls-key are both required")
	}
	kp := &keyPair{cert: t.Cert, key: t.Key}
	if _, err := kp.get(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get() }}
	if t.ClientCA != "" {
		pool, err := loadPool(t.ClientCA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(cfg))}, nil
}

// dialCredentials are the transport credentials to dial the link with.
func dialCredentials(t TLSFiles) (credentials.TransportCredentials, error) {
	if !t.Enabled() {
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CA != "" {
		pool, err := loadPool(t.CA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if t.Cert != "" {
		kp := &keyPair{cert: t.Cert, key: t.Key}
		if _, err := kp.get(); err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return kp.get() }
	}
	return credentials.NewTLS(cfg), nil
}

func loadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("TLS CA %s: no PEM certificate", path)
	}
	return pool, nil
}

// keyPair is a certificate and key read from files, re-read when either
// file's modification time changes.
type keyPair struct {
	cert, key string

	mu     sync.Mutex
	loaded *tls.Certificate
	mtimes [2]time.Time
}

func (k *keyPair) get() (*tls.Certificate, error) {
	var mt [2]time.Time
	for i, p := range []string{k.cert, k.key} {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("TLS certificate: %w", err)
		}
		mt[i] = st.ModTime()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.loaded != nil && mt == k.mtimes {
		return k.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		if k.loaded != nil {
			return k.loaded, nil // a half-written rotation: keep the last good pair
		}
		return nil, fmt.Errorf("TLS certificate %s: %w", k.cert, err)
	}
	k.loaded, k.mtimes = &c, mt
	return k.loaded, nil
}

// healthService registers grpc.health.v1 on the server: SERVING for the
// whole server ("") and for each named service, until stop is called
// (NOT_SERVING, as the server drains).
func healthService(gs *grpc.Server, services ...string) (stop func()) {
	h := health.NewServer()
	for _, s := range services {
		h.SetServingStatus(s, healthpb.HealthCheckResponse_SERVING)
	}
	healthpb.RegisterHealthServer(gs, h)
	return h.Shutdown
}
