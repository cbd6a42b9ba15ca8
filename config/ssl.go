package config

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// UpstreamTLS is how Envoy verifies the deployments' https hosts and
// authenticates to them: litellm_settings ssl_verify, ssl_certificate and
// ssl_ecdh_curve, ssl_security_level with the environment variables LiteLLM
// reads for them (SSL_VERIFY, SSL_CERT_FILE, SSL_CERTIFICATE, SSL_ECDH_CURVE,
// SSL_SECURITY_LEVEL), resolved as LiteLLM resolves them (D112, D121). The zero value verifies against the system
// bundle with Envoy's default curves and no client certificate. Paths are
// absolute: Envoy reads the files (and watches them).
type UpstreamTLS struct {
	// NoVerify is ssl_verify: false (or SSL_VERIFY=false): any server
	// certificate is accepted.
	NoVerify bool
	// CAFile is the bundle the server certificate is verified against:
	// ssl_verify: <path>, else SSL_CERT_FILE; empty means the system bundle.
	CAFile string
	// ClientCert is ssl_certificate (or SSL_CERTIFICATE): one PEM file
	// holding the client certificate chain and its private key, as httpx's
	// cert= takes it.
	ClientCert string
	// ECDHCurves is ssl_ecdh_curve (or SSL_ECDH_CURVE) in Envoy's names; nil
	// keeps Envoy's defaults.
	ECDHCurves []string
	// CipherSuites is ssl_security_level (or SSL_SECURITY_LEVEL), the
	// OpenSSL cipher string LiteLLM hands to set_ciphers, as Envoy's TLS 1.2
	// cipher_suites (BoringSSL's names; DEFAULT and its like stand for
	// Envoy's default list); nil keeps Envoy's defaults.
	CipherSuites []string
}

// sslKeys holds the raw litellm_settings values until processEnv resolves
// them with the environment.
type sslKeys struct {
	verify, certificate, curve, ciphers *yaml.Node
}

func (p *parser) sslKey(name string, n *yaml.Node) {
	switch name {
	case "ssl_verify":
		p.ssl.verify = n
	case "ssl_certificate":
		p.ssl.certificate = n
	case "ssl_ecdh_curve":
		p.ssl.curve = n
	case "ssl_security_level":
		p.ssl.ciphers = n
	}
}

// upstreamTLS resolves the settings: an environment variable wins over the
// config's key ("Be aware that environmental variables take precedence"),
// ssl_verify's "true"/"false" strings are booleans, another string is a CA
// bundle, and SSL_CERT_FILE is the bundle when ssl_verify names none.
func (p *parser) upstreamTLS() UpstreamTLS {
	var t UpstreamTLS
	const verifyKey = "litellm_settings.ssl_verify"
	verify, verifyNode, fromEnv := "", p.ssl.verify, false
	if v, ok := p.lookup("SSL_VERIFY"); ok && strings.TrimSpace(v) != "" {
		verify, verifyNode, fromEnv = strings.TrimSpace(v), nil, true
	} else if verifyNode != nil {
		verify = p.sslVerifyValue(verifyNode, verifyKey)
	}
	switch strings.ToLower(verify) {
	case "", "true":
	case "false":
		t.NoVerify = true
	default:
		where := verifyKey
		if fromEnv {
			where = "SSL_VERIFY"
		}
		t.CAFile = p.readableFile(verifyNode, where, verify, "a CA bundle", "CERTIFICATE")
	}
	if t.CAFile == "" && !t.NoVerify {
		if v, ok := p.lookup("SSL_CERT_FILE"); ok && v != "" {
			if _, err := os.Stat(v); err == nil {
				t.CAFile = absPath(v)
			} else {
				p.warnAt(nil, "SSL_CERT_FILE", "%v; the deployments are verified against the system bundle", err)
			}
		}
	}
	cert, certNode, certKey := p.envOrKey("SSL_CERTIFICATE", p.ssl.certificate, "litellm_settings.ssl_certificate")
	if cert != "" {
		t.ClientCert = p.readableFile(certNode, certKey, cert, "a client certificate", "CERTIFICATE", "PRIVATE KEY")
	}
	curve, curveNode, curveKey := p.envOrKey("SSL_ECDH_CURVE", p.ssl.curve, "litellm_settings.ssl_ecdh_curve")
	if curve != "" {
		if name, ok := ecdhCurves[strings.ToLower(strings.TrimSpace(curve))]; ok {
			t.ECDHCurves = []string{name}
		} else {
			// LiteLLM warns and keeps the default curves.
			p.warnAt(curveNode, curveKey, "unknown curve %q (X25519, prime256v1, secp384r1, secp521r1, X25519MLKEM768); Envoy's default curves are used", curve)
		}
	}
	t.CipherSuites = p.cipherSuites()
	return t
}

// envOrKey is the variable's value when it is set and not empty (then node
// nil and key the variable's name, for messages), else the key's.
func (p *parser) envOrKey(env string, n *yaml.Node, key string) (string, *yaml.Node, string) {
	if v, ok := p.lookup(env); ok && v != "" {
		return v, nil, env
	}
	if n == nil {
		return "", nil, key
	}
	v, _ := p.str(n, key)
	return v, n, key
}

// sslVerifyValue is ssl_verify's value as text: a YAML boolean (yes/no
// too, as LiteLLM's YAML 1.1 reader takes them) is "true" or "false".
func (p *parser) sslVerifyValue(n *yaml.Node, key string) string {
	d := deref(n)
	if d != nil && d.Kind == yaml.ScalarNode && (d.ShortTag() == "!!bool" || d.Style == 0 && isYAML11Bool(d.Value)) {
		if b, ok := p.bool(n, key); ok && !b {
			return "false"
		}
		return "true"
	}
	s, _ := p.str(n, key)
	return s
}

func isYAML11Bool(s string) bool {
	switch strings.ToLower(s) {
	case "yes", "no", "on", "off", "y", "n":
		return true
	}
	return false
}

// ecdhCurves maps the names OpenSSL (LiteLLM's set_ecdh_curve) accepts to
// the names Envoy's ecdh_curves takes.
var ecdhCurves = map[string]string{
	"x25519":         "X25519",
	"prime256v1":     "P-256",
	"secp256r1":      "P-256",
	"p-256":          "P-256",
	"secp384r1":      "P-384",
	"p-384":          "P-384",
	"secp521r1":      "P-521",
	"p-521":          "P-521",
	"x25519mlkem768": "X25519MLKEM768",
}

// readableFile checks that path is a PEM file holding a block of each kind
// (a suffix of the block's type) and returns it absolute; else an error at
// the key (empty result). A file Envoy cannot load would make it refuse
// every deployment's cluster.
func (p *parser) readableFile(n *yaml.Node, key, path, what string, kinds ...string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		p.errAt(n, key, "cannot read %s %q: %v", what, path, err)
		return ""
	}
	found := map[string]bool{}
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		for _, k := range kinds {
			if strings.HasSuffix(blk.Type, k) {
				found[k] = true
			}
		}
	}
	for _, k := range kinds {
		if !found[k] {
			p.errAt(n, key, "%s is not %s: it holds no PEM %s block", path, what, k)
			return ""
		}
	}
	return absPath(path)
}

func absPath(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// envoyDefaultCiphers is Envoy's default TLS 1.2 cipher list for upstream
// connections (TlsParameters.cipher_suites), written out so that a cipher
// string can name ciphers before or after it.
var envoyDefaultCiphers = []string{
	"[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]",
	"[ECDHE-RSA-AES128-GCM-SHA256|ECDHE-RSA-CHACHA20-POLY1305]",
	"ECDHE-ECDSA-AES256-GCM-SHA384",
	"ECDHE-RSA-AES256-GCM-SHA384",
}

// boringCiphers are the TLS 1.2 cipher suites BoringSSL (Envoy's TLS
// library) implements, by their OpenSSL names.
var boringCiphers = map[string]bool{
	"ECDHE-ECDSA-AES128-GCM-SHA256": true, "ECDHE-RSA-AES128-GCM-SHA256": true,
	"ECDHE-ECDSA-AES256-GCM-SHA384": true, "ECDHE-RSA-AES256-GCM-SHA384": true,
	"ECDHE-ECDSA-CHACHA20-POLY1305": true, "ECDHE-RSA-CHACHA20-POLY1305": true,
	"ECDHE-ECDSA-AES128-SHA": true, "ECDHE-RSA-AES128-SHA": true,
	"ECDHE-ECDSA-AES256-SHA": true, "ECDHE-RSA-AES256-SHA": true,
	"AES128-GCM-SHA256": true, "AES256-GCM-SHA384": true,
	"AES128-SHA": true, "AES256-SHA": true, "DES-CBC3-SHA": true,
}

// cipherSuites reads ssl_security_level (SSL_SECURITY_LEVEL wins): LiteLLM
// passes the string to OpenSSL's set_ciphers, which orders the TLS 1.2
// suites offered. Cipher names BoringSSL implements are kept in their order;
// DEFAULT, ALL, HIGH and COMPLEMENTOFDEFAULT stand for Envoy's default list
// at their place; @SECLEVEL=n, @STRENGTH and the OpenSSL operators (!, -,
// +) have no BoringSSL counterpart and are warned about. A string that
// names no cipher keeps Envoy's defaults (LiteLLM would fail its requests:
// "No cipher can be selected"). TLS 1.3's suites are not touched, as
// set_ciphers does not touch them.
func (p *parser) cipherSuites() []string {
	const key = "litellm_settings.ssl_security_level"
	v, n, where := p.envOrKey("SSL_SECURITY_LEVEL", nil, key)
	if where == key && p.ssl.ciphers != nil {
		n = p.ssl.ciphers
		if d := deref(n); d != nil && d.Kind == yaml.ScalarNode && d.ShortTag() == "!!int" {
			// The docs' "ssl_security_level: 1": LiteLLM sets ciphers only
			// from a string, so a number leaves its defaults.
			p.warnAt(n, key, "a number is not a cipher string (LiteLLM reads only a string, e.g. \"DEFAULT:@SECLEVEL=1\"); the default ciphers are used")
			return nil
		}
		v, _ = p.str(n, key)
	}
	if strings.TrimSpace(v) == "" {
		return nil
	}
	var out, ignored []string
	named, defaults := false, false
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		switch u := strings.ToUpper(f); {
		case boringCiphers[u]:
			out, named = append(out, u), true
		case u == "DEFAULT" || u == "ALL" || u == "HIGH" || u == "COMPLEMENTOFDEFAULT":
			if !defaults {
				out, defaults = append(out, envoyDefaultCiphers...), true
			}
		default:
			ignored = append(ignored, f)
		}
	}
	if len(ignored) > 0 {
		p.warnAt(n, where, "%s: no BoringSSL counterpart (Envoy has no OpenSSL security levels or cipher operators); ignored", strings.Join(ignored, ", "))
	}
	if !named {
		if !defaults {
			p.warnAt(n, where, "%q names no cipher Envoy knows; the default ciphers are used", v)
		}
		return nil
	}
	return out
}
