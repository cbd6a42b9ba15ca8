package backendauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeTokenServer is a Google token endpoint: it checks the JWT-bearer grant
// and hands out numbered tokens.
func fakeTokenServer(t *testing.T, expiresIn int, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		if got := r.Form.Get("grant_type"); got != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			t.Errorf("grant_type %q", got)
		}
		if parts := strings.Split(r.Form.Get("assertion"), "."); len(parts) != 3 {
			t.Errorf("assertion is not a JWT: %q", r.Form.Get("assertion"))
		}
		w.Header().Set("Content-Type", "application/json")
		if status != 200 {
			w.WriteHeader(status)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":"ya29.token-%d","expires_in":%d,"token_type":"Bearer"}`, n, expiresIn)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func serviceAccountJSON(t *testing.T, tokenURI string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "my-proj", "private_key_id": "kid1",
		"private_key": string(pemKey), "client_email": "gw@my-proj.iam.gserviceaccount.com", "token_uri": tokenURI,
	})
	return string(b)
}

func TestVertexTokenCache(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int
		wantCalls int32
	}{
		{"long-lived token is reused", 3600, 1},
		{"token inside the early-expiry window is refreshed", 60, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := fakeTokenServer(t, tc.expiresIn, 200)
			v, err := NewVertex(context.Background(), Secret(serviceAccountJSON(t, srv.URL)))
			if err != nil {
				t.Fatal(err)
			}
			if v.ProjectID() != "my-proj" {
				t.Fatalf("project %q", v.ProjectID())
			}
			var last string
			for range 3 {
				h, err := v.Headers(Request{})
				if err != nil {
					t.Fatal(err)
				}
				last = h["authorization"]
				if !strings.HasPrefix(last, "Bearer ya29.token-") {
					t.Fatalf("authorization %q", last)
				}
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("token endpoint called %d times, want %d", got, tc.wantCalls)
			}
			if want := fmt.Sprintf("Bearer ya29.token-%d", tc.wantCalls); last != want {
				t.Errorf("last header %q, want %q", last, want)
			}
		})
	}
}

func TestVertexTokenErrorHidesSecrets(t *testing.T) {
	srv, _ := fakeTokenServer(t, 3600, 400)
	sa := serviceAccountJSON(t, srv.URL)
	v, err := NewVertex(context.Background(), Secret(sa))
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Headers(Request{})
	if err == nil {
		t.Fatal("want an error from a failing token endpoint")
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("error %q", err)
	}
}

func TestNewVertexRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":        `{"private_key": "-----BEGIN PRIVATE KEY-----SECRET`,
		"no key":          `{"type":"service_account","client_email":"a@b"}`,
		"authorized_user": `{"type":"authorized_user","client_email":"a@b","private_key":"SECRET"}`,
	} {
		_, err := NewVertex(context.Background(), Secret(in))
		if err == nil {
			t.Errorf("%s: want an error", name)
			continue
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error leaks the key: %v", name, err)
		}
	}
}

func TestLoadVertexCredentials(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sa.json")
	if err := os.WriteFile(file, []byte(`{"type":"service_account"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(dir, "env.json")
	if err := os.WriteFile(envFile, []byte(`{"from":"env"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, env, want string
		wantErr             bool
	}{
		{name: "inline json", in: ` {"type":"service_account"} `, want: `{"type":"service_account"}`},
		{name: "file path", in: file, want: `{"type":"service_account"}`},
		{name: "env fallback", env: envFile, want: `{"from":"env"}`},
		{name: "nothing", wantErr: true},
		{name: "missing file", in: filepath.Join(dir, "nope.json"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", tc.env)
			got, err := LoadVertexCredentials(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Reveal() != tc.want {
				t.Errorf("got %q want %q", got.Reveal(), tc.want)
			}
			if fmt.Sprint(got) != "[redacted]" {
				t.Errorf("secret prints as %q", fmt.Sprint(got))
			}
		})
	}
}
