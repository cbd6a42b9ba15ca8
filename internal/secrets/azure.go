package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// azureReader reads Azure Key Vault secrets as LiteLLM's SecretClient does
// (azure.keyvault.secrets get_secret): GET {AZURE_KEY_VAULT_URI}/secrets/
// {name}?api-version=7.4 with an Entra ID token for the vault, the value at
// "value".
type azureReader struct {
	hc    *http.Client
	vault string
	src   oauth2.TokenSource
}

// azureVaultScope is the scope of a token for any Key Vault.
const azureVaultScope = "https://vault.azure.net/.default"

// azureAPIVersion is the Key Vault REST API version asked for.
const azureAPIVersion = "7.4"

// azureName is a name a Key Vault can hold: 1–127 letters, digits and
// dashes. Others (OPENAI_API_KEY) are never asked for: the vault answers
// them 400 BadParameter, on which LiteLLM reads the environment.
var azureName = regexp.MustCompile(`^[0-9A-Za-z-]{1,127}$`)

// newAzure reads AZURE_KEY_VAULT_URI and the credential of
// DefaultAzureCredential's environment and workload-identity steps, which
// LiteLLM's load_from_azure_key_vault uses: AZURE_TENANT_ID and
// AZURE_CLIENT_ID with AZURE_CLIENT_SECRET, else with the token in
// AZURE_FEDERATED_TOKEN_FILE (Kubernetes workload identity); the authority
// from AZURE_AUTHORITY_HOST (default https://login.microsoftonline.com).
// The other steps (managed identity, the Azure CLI) are not built: without
// one of these credentials Open fails saying so.
func newAzure(getenv func(string) (string, bool), hc *http.Client) (*azureReader, error) {
	env := func(k string) string { v, _ := getenv(k); return strings.TrimSpace(v) }
	vault := strings.TrimRight(env("AZURE_KEY_VAULT_URI"), "/")
	if vault == "" {
		return nil, errors.New("azure_key_vault: AZURE_KEY_VAULT_URI is not set")
	}
	if u, err := url.Parse(vault); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("azure_key_vault: AZURE_KEY_VAULT_URI %q is not an http(s) URL", vault)
	}
	tenant, client := env("AZURE_TENANT_ID"), env("AZURE_CLIENT_ID")
	secret, tokenFile := env("AZURE_CLIENT_SECRET"), env("AZURE_FEDERATED_TOKEN_FILE")
	if tenant == "" || client == "" || (secret == "" && tokenFile == "") {
		return nil, errors.New("azure_key_vault: set AZURE_TENANT_ID and AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE (managed identity and the Azure CLI credential are not implemented yet)")
	}
	authority := strings.TrimRight(firstNonEmpty(env("AZURE_AUTHORITY_HOST"), "https://login.microsoftonline.com"), "/")
	cc := &clientcredentials.Config{ClientID: client, ClientSecret: secret, Scopes: []string{azureVaultScope},
		TokenURL: authority + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token", AuthStyle: oauth2.AuthStyleInParams}
	if secret == "" {
		// The federated token is read once per config load: a Manager
		// lives for one load, well inside the token's lifetime.
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("azure_key_vault: AZURE_FEDERATED_TOKEN_FILE: %w", err)
		}
		cc.EndpointParams = url.Values{
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {strings.TrimSpace(string(b))},
		}
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	return &azureReader{hc: hc, vault: vault, src: oauth2.ReuseTokenSource(nil, cc.TokenSource(ctx))}, nil
}

func (a *azureReader) read(ctx context.Context, name string) (string, bool, error) {
	if !azureName.MatchString(name) {
		return "", false, nil
	}
	tok, err := a.src.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			return "", false, fmt.Errorf("azure_key_vault: Entra ID token: %d %s %s", re.Response.StatusCode, re.ErrorCode, re.ErrorDescription)
		}
		return "", false, fmt.Errorf("azure_key_vault: Entra ID token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.vault+"/secrets/"+name+"?api-version="+azureAPIVersion, nil)
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := a.hc.Do(req)
	if err != nil {
		return "", false, fmt.Errorf("azure_key_vault: get %q: %w", name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxValue+4096))
	if err != nil {
		return "", false, fmt.Errorf("azure_key_vault: get %q: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode == http.StatusNotFound && e.Error.Code == "SecretNotFound" {
			return "", false, nil
		}
		return "", false, fmt.Errorf("azure_key_vault: get %q: %d %s", name, resp.StatusCode, e.Error.Code)
	}
	var out struct {
		Value *string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Value == nil {
		return "", false, fmt.Errorf("azure_key_vault: get %q: the answer has no value", name)
	}
	if len(*out.Value) > maxValue {
		return "", false, fmt.Errorf("azure_key_vault: get %q: the secret is over %d bytes", name, maxValue)
	}
	return *out.Value, true, nil
}
