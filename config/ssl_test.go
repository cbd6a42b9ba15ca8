package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestUpstreamTLS: ssl_verify, ssl_certificate and ssl_ecdh_curve resolve as
// LiteLLM resolves them — a boolean or "true"/"false" string, else a CA
// bundle; SSL_CERT_FILE when no bundle is named; the environment variable
// wins over the key; OpenSSL curve names mapped to Envoy's.
func TestUpstreamTLS(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	both := filepath.Join(dir, "client.pem")
	certOnly := filepath.Join(dir, "cert.pem")
	const cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	const key = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
	for path, body := range map[string]string{ca: cert, both: cert + key, certOnly: cert} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const models = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o, api_key: k}\n"
	for _, tc := range []struct {
		name, yml string
		env       []string
		want      UpstreamTLS
	}{
		{"default", "", nil, UpstreamTLS{}},
		{"false", "ssl_verify: false", nil, UpstreamTLS{NoVerify: true}},
		{"no (YAML 1.1)", "ssl_verify: no", nil, UpstreamTLS{NoVerify: true}},
		{"string False", `ssl_verify: "False"`, nil, UpstreamTLS{NoVerify: true}},
		{"true", "ssl_verify: true", nil, UpstreamTLS{}},
		{"bundle", "ssl_verify: " + ca, nil, UpstreamTLS{CAFile: ca}},
		{"SSL_CERT_FILE", "", []string{"SSL_CERT_FILE", ca}, UpstreamTLS{CAFile: ca}},
		{"SSL_CERT_FILE not over false", "ssl_verify: false", []string{"SSL_CERT_FILE", ca}, UpstreamTLS{NoVerify: true}},
		{"SSL_VERIFY wins", "ssl_verify: " + ca, []string{"SSL_VERIFY", "False"}, UpstreamTLS{NoVerify: true}},
		{"SSL_VERIFY bundle", "ssl_verify: false", []string{"SSL_VERIFY", ca}, UpstreamTLS{CAFile: ca}},
		{"client certificate", "ssl_certificate: " + both, nil, UpstreamTLS{ClientCert: both}},
		{"SSL_CERTIFICATE", "", []string{"SSL_CERTIFICATE", both}, UpstreamTLS{ClientCert: both}},
		{"curve", "ssl_ecdh_curve: prime256v1", nil, UpstreamTLS{ECDHCurves: []string{"P-256"}}},
		{"SSL_ECDH_CURVE", "ssl_ecdh_curve: prime256v1", []string{"SSL_ECDH_CURVE", "X25519"}, UpstreamTLS{ECDHCurves: []string{"X25519"}}},
		{"ciphers", `ssl_security_level: "ecdhe-ecdsa-aes128-sha:DEFAULT"`, nil,
			UpstreamTLS{CipherSuites: append([]string{"ECDHE-ECDSA-AES128-SHA"}, envoyDefaultCiphers...)}},
		{"ciphers only", `ssl_security_level: "AES128-SHA AES256-SHA"`, nil, UpstreamTLS{CipherSuites: []string{"AES128-SHA", "AES256-SHA"}}},
		{"SSL_SECURITY_LEVEL", `ssl_security_level: "AES128-SHA"`, []string{"SSL_SECURITY_LEVEL", "DEFAULT:ECDHE-RSA-AES256-SHA"},
			UpstreamTLS{CipherSuites: append(append([]string(nil), envoyDefaultCiphers...), "ECDHE-RSA-AES256-SHA")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yml := models
			if tc.yml != "" {
				yml += "litellm_settings:\n  " + tc.yml + "\n"
			}
			cfg := mustParse(t, yml, env(tc.env...))
			if got := cfg.LiteLLM.UpstreamTLS; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%+v, want %+v", got, tc.want)
			}
			if len(cfg.Warnings) != 0 {
				t.Errorf("warnings: %v", cfg.Warnings)
			}
		})
	}

	// Errors name the line and key: a bundle that is not there, a client
	// certificate without its key.
	le := parseErr(t, models+"litellm_settings:\n  ssl_verify: "+filepath.Join(dir, "missing.pem")+"\n", nil)
	if !hasDiag(le.Diagnostics, "test.yaml:5") || !hasDiag(le.Diagnostics, "litellm_settings.ssl_verify: cannot read a CA bundle") {
		t.Errorf("a missing bundle: %v", le.Diagnostics)
	}
	le = parseErr(t, models+"litellm_settings:\n  ssl_certificate: "+certOnly+"\n", nil)
	if !hasDiag(le.Diagnostics, "litellm_settings.ssl_certificate: "+certOnly+" is not a client certificate: it holds no PEM PRIVATE KEY block") {
		t.Errorf("a certificate without its key: %v", le.Diagnostics)
	}
	// An unknown curve is a warning (LiteLLM keeps its default curves).
	cfg := mustParse(t, models+"litellm_settings:\n  ssl_ecdh_curve: brainpool\n", nil)
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].String(), `unknown curve "brainpool"`) || cfg.LiteLLM.UpstreamTLS.ECDHCurves != nil {
		t.Errorf("an unknown curve: %v %+v", cfg.Warnings, cfg.LiteLLM.UpstreamTLS)
	}
	// The docs' security level: no BoringSSL counterpart, warned about, the
	// defaults kept; a number is not a cipher string (LiteLLM ignores it).
	for yml, want := range map[string]string{
		`ssl_security_level: "DEFAULT:@SECLEVEL=1"`: "@SECLEVEL=1: no BoringSSL counterpart",
		`ssl_security_level: 1`:                     "a number is not a cipher string",
		`ssl_security_level: "RC4-MD5"`:             "RC4-MD5: no BoringSSL counterpart",
	} {
		cfg := mustParse(t, models+"litellm_settings:\n  "+yml+"\n", nil)
		var ws []string
		for _, w := range cfg.Warnings {
			ws = append(ws, w.String())
		}
		if len(ws) == 0 || !strings.Contains(ws[0], want) || !strings.Contains(ws[0], "litellm_settings.ssl_security_level") || cfg.LiteLLM.UpstreamTLS.CipherSuites != nil {
			t.Errorf("%s: warnings %q, ciphers %v; want %q and the defaults", yml, ws, cfg.LiteLLM.UpstreamTLS.CipherSuites, want)
		}
	}
}
