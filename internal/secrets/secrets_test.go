package secrets_test

import (
	"os"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/awscreds"
	"github.com/llmgate/llmgate/internal/fakesecrets"
	"github.com/llmgate/llmgate/internal/secrets"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

type want struct {
	name, value string
	found       bool
	err         string
}

func check(t *testing.T, m *secrets.Manager, cases []want) {
	t.Helper()
	for _, c := range cases {
		v, found, err := m.Lookup(c.name)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || v != c.value || found != c.found {
			t.Errorf("%s: (%q, %v, %v), want (%q, %v)", c.name, v, found, err, c.value, c.found)
		}
	}
}

// TestAWS reads through GetSecretValue with the fake checking SigV4: a
// secret held, one not held (found false: the environment is read), the
// AWS credential names never asked, a wrong secret key refused with AWS's
// exception, the service down an error.
func TestAWS(t *testing.T) {
	f := fakesecrets.Start(t, fakesecrets.Options{AWSAccessKeyID: "AKIDFAKE", AWSSecretAccessKey: "fake-secret", AWSRegion: "eu-west-1"})
	f.Put("OPENAI_KEY", "sk-from-aws")
	env := map[string]string{"AWS_REGION_NAME": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret", "AWS_ENDPOINT_URL_SECRETS_MANAGER": f.URL}
	m, err := secrets.Open(secrets.AWSSecretManager, secrets.Settings{}, envOf(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, m, []want{
		{name: "OPENAI_KEY", value: "sk-from-aws", found: true},
		{name: "MISSING"},
		{name: "AWS_SECRET_ACCESS_KEY"},
		{name: "../x", err: "invalid secret name"},
	})
	if got := strings.Join(f.Reads(), ","); got != "aws OPENAI_KEY,aws MISSING" {
		t.Errorf("reads %q", got)
	}
	// Read once per Manager.
	m.Lookup("OPENAI_KEY")
	if n := len(f.Reads()); n != 2 {
		t.Errorf("%d reads after a repeated name, want 2", n)
	}
	f.SetDown(true)
	check(t, m, []want{{name: "OTHER", err: "InternalServiceError"}})

	env["AWS_SECRET_ACCESS_KEY"] = "wrong"
	m, _ = secrets.Open(secrets.AWSSecretManager, secrets.Settings{}, envOf(env), nil)
	check(t, m, []want{{name: "OPENAI_KEY", err: "InvalidSignatureException"}})

	// Region from the settings, which the fake checks in the scope.
	env["AWS_SECRET_ACCESS_KEY"] = "fake-secret"
	env["AWS_REGION_NAME"] = "us-east-1"
	f.SetDown(false)
	m, _ = secrets.Open(secrets.AWSSecretManager, secrets.Settings{AWS: awscreds.Settings{Region: "eu-west-1"}}, envOf(env), nil)
	check(t, m, []want{{name: "OPENAI_KEY", value: "sk-from-aws", found: true}})
}

// TestAWSPrimarySecret reads every name from one JSON secret.
func TestAWSPrimarySecret(t *testing.T) {
	f := fakesecrets.Start(t, fakesecrets.Options{AWSAccessKeyID: "AKIDFAKE", AWSSecretAccessKey: "fake-secret", AWSRegion: "us-east-1"})
	f.Put("litellm-secrets", `{"OPENAI_KEY":"sk-primary","RPM":60,"FLAG":true}`)
	env := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret", "AWS_ENDPOINT_URL": f.URL}
	m, err := secrets.Open(secrets.AWSSecretManager, secrets.Settings{PrimarySecretName: "litellm-secrets"}, envOf(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, m, []want{
		{name: "OPENAI_KEY", value: "sk-primary", found: true},
		{name: "RPM", value: "60", found: true},
		{name: "FLAG", value: "true", found: true},
		{name: "NOPE"},
	})
	if got := strings.Join(f.Reads(), ","); got != "aws litellm-secrets" {
		t.Errorf("reads %q, want the primary secret once", got)
	}
}

// TestVault reads KV v2 with a token and with an AppRole login; 404 is
// not found, a refused token an error; hosted_keys and write_only limit
// what is asked.
func TestVault(t *testing.T) {
	f := fakesecrets.Start(t, fakesecrets.Options{VaultToken: "hvs.fake", VaultRoleID: "role", VaultSecretID: "sid", VaultMount: "kv"})
	f.Put("OPENAI_KEY", "sk-from-vault")
	env := map[string]string{"HCP_VAULT_ADDR": f.URL, "HCP_VAULT_TOKEN": "hvs.fake", "HCP_VAULT_MOUNT_NAME": "/kv/"}
	m, err := secrets.Open(secrets.HashiCorpVault, secrets.Settings{}, envOf(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, m, []want{
		{name: "OPENAI_KEY", value: "sk-from-vault", found: true},
		{name: "MISSING"},
	})
	env["HCP_VAULT_TOKEN"] = "wrong"
	m, _ = secrets.Open(secrets.HashiCorpVault, secrets.Settings{}, envOf(env), nil)
	check(t, m, []want{{name: "OPENAI_KEY", err: "status 403: permission denied"}})

	env["HCP_VAULT_APPROLE_ROLE_ID"], env["HCP_VAULT_APPROLE_SECRET_ID"] = "role", "sid"
	m, _ = secrets.Open(secrets.HashiCorpVault, secrets.Settings{}, envOf(env), nil)
	check(t, m, []want{{name: "OPENAI_KEY", value: "sk-from-vault", found: true}})
	if r := f.Reads(); r[len(r)-2] != "vault-login" {
		t.Errorf("reads %q: no AppRole login before the read", r)
	}

	m, _ = secrets.Open(secrets.HashiCorpVault, secrets.Settings{HostedKeys: []string{"OTHER"}}, envOf(env), nil)
	check(t, m, []want{{name: "OPENAI_KEY"}})
	m, _ = secrets.Open(secrets.HashiCorpVault, secrets.Settings{AccessMode: "write_only"}, envOf(env), nil)
	check(t, m, []want{{name: "OPENAI_KEY"}})
	f.SetDown(true)
	m, _ = secrets.Open(secrets.HashiCorpVault, secrets.Settings{}, envOf(env), nil)
	check(t, m, []want{{name: "OPENAI_KEY", err: "status 503"}})
}

func TestOpenErrors(t *testing.T) {
	for _, c := range []struct {
		system string
		env    map[string]string
		st     secrets.Settings
		want   string
	}{
		{"cyberark", nil, secrets.Settings{}, "not implemented yet"},
		{secrets.GoogleSecretManager, nil, secrets.Settings{}, "GOOGLE_SECRET_MANAGER_PROJECT_ID"},
		{secrets.GoogleKMS, nil, secrets.Settings{}, "set GOOGLE_KMS_RESOURCE_NAME"},
		{secrets.AzureKeyVault, map[string]string{"AZURE_KEY_VAULT_URI": "vault.azure.net", "AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}, secrets.Settings{}, "not an http(s) URL"},
		{"aws_secret_manager_v2", nil, secrets.Settings{}, "not one LiteLLM knows"},
		{secrets.AWSSecretManager, nil, secrets.Settings{}, "needs a region"},
		{secrets.HashiCorpVault, nil, secrets.Settings{}, "missing Vault authentication credentials"},
		{secrets.HashiCorpVault, map[string]string{"HCP_VAULT_TOKEN": "t", "HCP_VAULT_ADDR": "vault:8200"}, secrets.Settings{}, "not an http(s) URL"},
		{secrets.HashiCorpVault, map[string]string{"HCP_VAULT_TOKEN": "t"}, secrets.Settings{AccessMode: "rw"}, "access_mode"},
	} {
		_, err := secrets.Open(c.system, c.st, envOf(c.env), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: err %v, want %q", c.system, c.env, err, c.want)
		}
	}
}

// TestAzureKeyVault reads through Key Vault's get-secret with a token from
// the fake's Entra ID endpoint: a secret held, one not held and a name a
// vault cannot hold (both found false: the environment is read; the second
// never asked), a wrong client secret refused with Entra's error, the vault
// down an error; workload identity's federated token as the assertion;
// Open without a credential or a vault URI an error.
func TestAzureKeyVault(t *testing.T) {
	f := fakesecrets.Start(t, fakesecrets.Options{AzureTenant: "tenant-1", AzureClientID: "app-1", AzureClientSecret: "app-secret",
		AzureAssertion: "federated-jwt", AzureToken: "vault-token"})
	f.Put("openai-key", "sk-from-azure")
	env := map[string]string{"AZURE_KEY_VAULT_URI": f.URL + "/", "AZURE_AUTHORITY_HOST": f.URL, "AZURE_TENANT_ID": "tenant-1",
		"AZURE_CLIENT_ID": "app-1", "AZURE_CLIENT_SECRET": "app-secret"}
	m, err := secrets.Open(secrets.AzureKeyVault, secrets.Settings{}, envOf(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, m, []want{
		{name: "openai-key", value: "sk-from-azure", found: true},
		{name: "missing"},
		{name: "OPENAI_API_KEY"},
	})
	if got := strings.Join(f.Reads(), ","); got != "azure-token,azure openai-key,azure missing" {
		t.Errorf("reads %q (one token for the load, the underscore name never asked)", got)
	}
	f.SetDown(true)
	check(t, m, []want{{name: "other", err: "503 ServiceUnavailable"}})
	f.SetDown(false)

	env["AZURE_CLIENT_SECRET"] = "wrong"
	m, _ = secrets.Open(secrets.AzureKeyVault, secrets.Settings{}, envOf(env), nil)
	check(t, m, []want{{name: "openai-key", err: "invalid_client"}})

	delete(env, "AZURE_CLIENT_SECRET")
	tokenFile := t.TempDir() + "/token"
	if err := os.WriteFile(tokenFile, []byte("federated-jwt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env["AZURE_FEDERATED_TOKEN_FILE"] = tokenFile
	m, err = secrets.Open(secrets.AzureKeyVault, secrets.Settings{}, envOf(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, m, []want{{name: "openai-key", value: "sk-from-azure", found: true}})

	delete(env, "AZURE_FEDERATED_TOKEN_FILE")
	if _, err := secrets.Open(secrets.AzureKeyVault, secrets.Settings{}, envOf(env), nil); err == nil || !strings.Contains(err.Error(), "AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE") {
		t.Errorf("no credential: %v", err)
	}
	env["AZURE_CLIENT_SECRET"] = "app-secret"
	delete(env, "AZURE_KEY_VAULT_URI")
	if _, err := secrets.Open(secrets.AzureKeyVault, secrets.Settings{}, envOf(env), nil); err == nil || !strings.Contains(err.Error(), "AZURE_KEY_VAULT_URI is not set") {
		t.Errorf("no vault: %v", err)
	}
}
