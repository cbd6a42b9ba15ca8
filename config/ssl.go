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
// ssl_ecdh_curve with the environment variables LiteLLM reads for them
// (SSL_VERIFY, SSL_CERT_FILE, SSL_CERTIFICATE, SSL_ECDH_CURVE), resolved as
// LiteLLM resolves them (D112). The zero value verifies against the system
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
}

// sslKeys holds the raw litellm_settings values until processEnv resolves
// them with the environment.
type sslKeys struct {
	verify, certificate, curve *yaml.Node
}

func (p *parser) sslKey(name string, n *yaml.Node) {
	switch name {
	case "ssl_verify":
		p.ssl.verify = n
	case "ssl_certificate":
		p.ssl.certificate = n
	case "ssl_ecdh_curve":
		p.ssl.curve = n
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
