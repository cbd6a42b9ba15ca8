package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// vaultReader reads KV v2 secrets as LiteLLM's HashicorpSecretManager does:
// GET {HCP_VAULT_ADDR}/v1/[{namespace}/]{mount}/data/[{prefix}/]{name} with
// X-Vault-Token, the value at data.data.key.
type vaultReader struct {
	hc                      *http.Client
	addr                    string
	token                   string
	secretNS, loginNS       string
	mount, prefix           string
	roleID, secretID, roleM string
	// approleToken is the AppRole login's token, once logged in (one
	// config load).
	approleToken string
}

// newVault reads LiteLLM's HCP_VAULT_* variables. A token or an AppRole is
// required (TLS certificate login is not built: HCP_VAULT_CLIENT_CERT with
// nothing else is an error saying so).
func newVault(getenv func(string) (string, bool), hc *http.Client) (*vaultReader, error) {
	env := func(k string) string { v, _ := getenv(k); return strings.TrimSpace(v) }
	v := &vaultReader{
		hc:       hc,
		addr:     strings.TrimRight(firstNonEmpty(env("HCP_VAULT_ADDR"), "http://127.0.0.1:8200"), "/"),
		token:    env("HCP_VAULT_TOKEN"),
		mount:    firstNonEmpty(pathPart(env("HCP_VAULT_MOUNT_NAME")), "secret"),
		prefix:   pathPart(env("HCP_VAULT_PATH_PREFIX")),
		roleID:   env("HCP_VAULT_APPROLE_ROLE_ID"),
		secretID: env("HCP_VAULT_APPROLE_SECRET_ID"),
		roleM:    firstNonEmpty(env("HCP_VAULT_APPROLE_MOUNT_PATH"), "approle"),
	}
	ns, _ := getenv("HCP_VAULT_NAMESPACE")
	v.secretNS, v.loginNS = pathPart(ns), strings.TrimSpace(ns)
	if s, ok := getenv("HCP_VAULT_SECRET_NAMESPACE"); ok {
		v.secretNS = pathPart(s)
	}
	if s, ok := getenv("HCP_VAULT_LOGIN_NAMESPACE"); ok {
		v.loginNS = strings.TrimSpace(s)
	}
	if u, err := url.Parse(v.addr); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hashicorp_vault: HCP_VAULT_ADDR %q is not an http(s) URL", v.addr)
	}
	if v.token == "" && (v.roleID == "" || v.secretID == "") {
		if env("HCP_VAULT_CLIENT_CERT") != "" {
			return nil, errors.New("hashicorp_vault: TLS certificate login (HCP_VAULT_CLIENT_CERT) is not implemented yet; set HCP_VAULT_TOKEN or HCP_VAULT_APPROLE_ROLE_ID and HCP_VAULT_APPROLE_SECRET_ID")
		}
		return nil, errors.New("hashicorp_vault: missing Vault authentication credentials: set HCP_VAULT_TOKEN, or HCP_VAULT_APPROLE_ROLE_ID and HCP_VAULT_APPROLE_SECRET_ID")
	}
	return v, nil
}

// pathPart trims a path component's spaces and slashes (LiteLLM's
// _sanitize_path_component).
func pathPart(s string) string { return strings.Trim(strings.TrimSpace(s), "/") }

func (v *vaultReader) url(name string) string {
	u := v.addr + "/v1/"
	if v.secretNS != "" {
		u += v.secretNS + "/"
	}
	u += v.mount + "/data/"
	if v.prefix != "" {
		u += v.prefix + "/"
	}
	return u + name
}

// tokenFor is the X-Vault-Token: AppRole first (LiteLLM's priority), else
// HCP_VAULT_TOKEN.
func (v *vaultReader) tokenFor(ctx context.Context) (string, error) {
	if v.roleID == "" || v.secretID == "" {
		return v.token, nil
	}
	if v.approleToken != "" {
		return v.approleToken, nil
	}
	body, _ := json.Marshal(map[string]string{"role_id": v.roleID, "secret_id": v.secretID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.addr+"/v1/auth/"+pathPart(v.roleM)+"/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if v.loginNS != "" {
		req.Header.Set("X-Vault-Namespace", v.loginNS)
	}
	var out struct {
		Auth struct {
			ClientToken string `json:"client_token"`
		} `json:"auth"`
	}
	status, err := v.do(req, &out)
	if err != nil {
		return "", fmt.Errorf("hashicorp_vault AppRole login: %w", err)
	}
	if status != http.StatusOK || out.Auth.ClientToken == "" {
		return "", fmt.Errorf("hashicorp_vault AppRole login: status %d, no client token", status)
	}
	v.approleToken = out.Auth.ClientToken
	return v.approleToken, nil
}

func (v *vaultReader) read(ctx context.Context, name string) (string, bool, error) {
	tok, err := v.tokenFor(ctx)
	if err != nil {
		return "", false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.url(name), nil)
	if err != nil {
		return "", false, fmt.Errorf("hashicorp_vault read %q: %w", name, err)
	}
	req.Header.Set("X-Vault-Token", tok)
	var out struct {
		Data struct {
			Data map[string]any `json:"data"`
		} `json:"data"`
		Errors []string `json:"errors"`
	}
	status, err := v.do(req, &out)
	if err != nil {
		return "", false, fmt.Errorf("hashicorp_vault read %q: %w", name, err)
	}
	switch {
	case status == http.StatusNotFound:
		return "", false, nil
	case status != http.StatusOK:
		msg := ""
		if len(out.Errors) > 0 {
			msg = ": " + strings.Join(out.Errors, "; ")
		}
		return "", false, fmt.Errorf("hashicorp_vault read %q: status %d%s", name, status, msg)
	}
	val, ok := out.Data.Data["key"].(string)
	if !ok {
		// LiteLLM stores every secret under the field "key"; a secret
		// without it reads as absent.
		return "", false, nil
	}
	return val, true, nil
}

// do sends req and decodes a bounded JSON answer into out (any status).
func (v *vaultReader) do(req *http.Request, out any) (int, error) {
	resp, err := v.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxValue+1))
	if err != nil {
		return 0, err
	}
	if len(b) > maxValue {
		return 0, fmt.Errorf("answer over %d bytes", maxValue)
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil && resp.StatusCode == http.StatusOK {
			return 0, errors.New("answer is not JSON")
		}
	}
	return resp.StatusCode, nil
}
