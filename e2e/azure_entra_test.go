package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestAzureEntraID: Azure deployments without an api key authenticate with
// Entra ID as LiteLLM's Azure client does — client credentials (tenant_id,
// client_id, client_secret), a user's password (azure_username,
// azure_password, client_id) or a static azure_ad_token — each request
// carrying "Authorization: Bearer <token>". The tokens come from a fake
// token endpoint at AZURE_AUTHORITY_HOST, asked once per process for the
// default scope, not per request; the fake Azure accepts only those tokens.
// On both request filters.
func TestAzureEntraID(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{APIKeys: []string{"cc-token", "ropc-token", "static-token"}})
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			var mu sync.Mutex
			var calls []url.Values
			idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				f := r.PostForm
				f.Set("path", r.URL.Path)
				mu.Lock()
				calls = append(calls, f)
				mu.Unlock()
				tok := ""
				switch {
				case r.URL.Path == "/tenant-1/oauth2/v2.0/token" && f.Get("grant_type") == "client_credentials" && f.Get("client_id") == "app-1" && f.Get("client_secret") == "app-secret":
					tok = "cc-token"
				case r.URL.Path == "/organizations/oauth2/v2.0/token" && f.Get("grant_type") == "password" && f.Get("username") == "alice@example.com" && f.Get("password") == "pw":
					tok = "ropc-token"
				default:
					w.WriteHeader(http.StatusUnauthorized)
					fmt.Fprint(w, `{"error":"invalid_client"}`)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"access_token":%q}`, tok)
			}))
			t.Cleanup(idp.Close)
			g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: client-credentials
    litellm_params: {model: azure/gpt-4o, api_base: %[1]s, api_version: "2024-10-21", tenant_id: tenant-1, client_id: app-1, client_secret: os.environ/E2E_CLIENT_SECRET}
  - model_name: password
    litellm_params: {model: azure/gpt-4o, api_base: %[1]s, api_version: "2024-10-21", client_id: app-2, azure_username: alice@example.com, azure_password: pw}
  - model_name: static
    litellm_params: {model: azure/gpt-4o, api_base: %[1]s, api_version: "2024-10-21", azure_ad_token: static-token, api_key: wrong-key}
`, fake.URL()), mode.args, "AZURE_AUTHORITY_HOST="+idp.URL, "E2E_CLIENT_SECRET=app-secret")
			want := map[string]string{"client-credentials": "cc-token", "password": "ropc-token", "static": "static-token"}
			for i := 0; i < 3; i++ {
				for model, tok := range want {
					fake.Reset()
					code, _, b := post(t, g.URL+"/v1/chat/completions", "", `{"model":"`+model+`","messages":[{"role":"user","content":"hello `+model+`"}]}`)
					if code != 200 || !strings.Contains(string(b), "hello "+model) {
						t.Fatalf("%s: status %d: %s", model, code, b)
					}
					if rec, ok := fake.Last(); !ok || rec.Header.Get("Authorization") != "Bearer "+tok || rec.Header.Get("Api-Key") != "" {
						t.Fatalf("%s: the fake saw %v", model, rec.Header)
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(calls) == 0 || len(calls) > 4 {
				t.Fatalf("token requests for 9 requests: %d, want one per token per process", len(calls))
			}
			for _, c := range calls {
				if c.Get("scope") != "https://cognitiveservices.azure.com/.default" {
					t.Errorf("token request scope: %v", c)
				}
			}
		})
	}
}
