package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/fakesecrets"
)

func secretsConfig(system, settings string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: m
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_KEY
      rpm: os.environ/DEPLOY_RPM
general_settings:
  key_management_system: %s
%s`, system, settings)
}

// TestKeyManagementSystem: os.environ/ references, LITELLM_MASTER_KEY and
// DATABASE_URL are read from the secret manager before the environment (a
// name it does not hold is the environment's); hosted_keys limits what it
// is asked; a failing manager is an error naming the key and the secret;
// --no-env reads nothing from it.
func TestKeyManagementSystem(t *testing.T) {
	f := fakesecrets.Start(t, fakesecrets.Options{VaultToken: "hvs.t", AWSAccessKeyID: "AKID", AWSSecretAccessKey: "sk", AWSRegion: "us-east-1"})
	f.Put("OPENAI_KEY", "sk-from-manager")
	f.Put("LITELLM_MASTER_KEY", "sk-master-from-manager")
	f.Put("DATABASE_URL", "postgresql://u:p@db/litellm")
	env := map[string]string{
		"HCP_VAULT_ADDR": f.URL, "HCP_VAULT_TOKEN": "hvs.t",
		"AWS_REGION_NAME": "us-east-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "sk", "AWS_ENDPOINT_URL_SECRETS_MANAGER": f.URL,
		"OPENAI_KEY": "sk-from-env", "DEPLOY_RPM": "7",
	}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, system := range []string{"hashicorp_vault", "aws_secret_manager"} {
		cfg, err := config.Parse([]byte(secretsConfig(system, "")), "c.yaml", getenv)
		if err != nil {
			t.Fatalf("%s: %v", system, err)
		}
		p := cfg.Models[0].Params
		if p.APIKey != "sk-from-manager" || p.RPM != 7 || cfg.General.MasterKey != "sk-master-from-manager" || cfg.General.DatabaseURL != "postgresql://u:p@db/litellm" {
			t.Errorf("%s: api_key %q rpm %d master %q db %q", system, p.APIKey, p.RPM, cfg.General.MasterKey, cfg.General.DatabaseURL)
		}
		if km := cfg.General.KeyManagement; km == nil || km.System != system {
			t.Errorf("%s: KeyManagement %+v", system, km)
		}
		// hosted_keys: only those names are asked.
		cfg, err = config.Parse([]byte(secretsConfig(system, "  key_management_settings:\n    hosted_keys: [LITELLM_MASTER_KEY]\n")), "c.yaml", getenv)
		if err != nil {
			t.Fatalf("%s: %v", system, err)
		}
		if p := cfg.Models[0].Params; p.APIKey != "sk-from-env" || cfg.General.MasterKey != "sk-master-from-manager" {
			t.Errorf("%s hosted_keys: api_key %q master %q", system, p.APIKey, cfg.General.MasterKey)
		}
	}

	f.SetDown(true)
	_, err := config.Parse([]byte(secretsConfig("hashicorp_vault", "")), "c.yaml", getenv)
	var le *config.LoadError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "model_list[0].litellm_params.api_key: reading OPENAI_KEY from the secret manager (hashicorp_vault)") ||
		!strings.Contains(err.Error(), "status 503") || strings.Contains(err.Error(), "sk-from") {
		t.Errorf("manager down: %v", err)
	}
	reads := len(f.Reads())
	cfg, err := config.ParseWithOptions([]byte(secretsConfig("hashicorp_vault", "")), "c.yaml", getenv, config.Options{UnsetEnvWarns: true})
	if err != nil || cfg.Models[0].Params.APIKey != "sk-from-env" || len(f.Reads()) != reads ||
		!strings.Contains(fmt.Sprint(cfg.Warnings), "secrets are not read under --no-env") {
		t.Errorf("--no-env: err %v, warnings %v, %d reads", err, cfg.Warnings, len(f.Reads())-reads)
	}

	for _, c := range []struct{ system, settings, want string }{
		{"cyberark", "", `key_management_system "cyberark" is not implemented yet`},
		{"azure_key_vault", "", "AZURE_KEY_VAULT_URI is not set"},
		{"aws_secret_manager_v2", "", "not one LiteLLM knows"},
		{"hashicorp_vault", "  key_management_settings:\n    custom_secret_manager: my.Mgr\n", "a Python class"},
		{"hashicorp_vault", "  key_management_settings:\n    access_mode: sometimes\n", "access_mode must be"},
	} {
		_, err := config.Parse([]byte(secretsConfig(c.system, c.settings)), "c.yaml", getenv)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: err %v, want %q", c.system, c.settings, err, c.want)
		}
	}
}

// TestAzureKeyVault: key_management_system: azure_key_vault, and LiteLLM's
// older use_azure_key_vault: true, read os.environ/ references from Key
// Vault (a name it may hold: letters, digits, dashes); a name it cannot
// hold (DEPLOY_RPM) is the environment's.
func TestAzureKeyVault(t *testing.T) {
	f := fakesecrets.Start(t, fakesecrets.Options{AzureTenant: "t1", AzureClientID: "c1", AzureClientSecret: "s1", AzureToken: "kv-token"})
	f.Put("openai-key", "sk-from-key-vault")
	env := map[string]string{"AZURE_KEY_VAULT_URI": f.URL, "AZURE_AUTHORITY_HOST": f.URL, "AZURE_TENANT_ID": "t1", "AZURE_CLIENT_ID": "c1",
		"AZURE_CLIENT_SECRET": "s1", "openai-key": "sk-from-env", "DEPLOY_RPM": "9"}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	body := `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/openai-key, rpm: os.environ/DEPLOY_RPM}
general_settings:
`
	for _, setting := range []string{"  key_management_system: azure_key_vault\n", "  use_azure_key_vault: true\n"} {
		cfg, err := config.Parse([]byte(body+setting), "c.yaml", getenv)
		if err != nil {
			t.Fatalf("%s: %v", setting, err)
		}
		if p := cfg.Models[0].Params; p.APIKey != "sk-from-key-vault" || p.RPM != 9 {
			t.Errorf("%s: api_key %q rpm %d", setting, p.APIKey, p.RPM)
		}
		if km := cfg.General.KeyManagement; km == nil || km.System != "azure_key_vault" {
			t.Errorf("%s: KeyManagement %+v", setting, km)
		}
		for _, w := range cfg.Warnings {
			if strings.Contains(w.String(), "use_azure_key_vault") {
				t.Errorf("%s: warned %v", setting, w)
			}
		}
	}
	cfg, err := config.Parse([]byte(body+"  use_azure_key_vault: false\n"), "c.yaml", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Models[0].Params; p.APIKey != "sk-from-env" || cfg.General.KeyManagement != nil {
		t.Errorf("use_azure_key_vault: false: api_key %q, KeyManagement %+v", p.APIKey, cfg.General.KeyManagement)
	}
}

// TestKMSDecryptsEnvironment (D142): key_management_system aws_kms
// decrypts each os.environ/ reference's value with KMS (the fake checks
// SigV4); a plain value is used as it is. use_google_kms: true opens
// Google Cloud KMS, whose missing settings are a load error at that key.
func TestKMSDecryptsEnvironment(t *testing.T) {
	f := fakesecrets.Start(t, fakesecrets.Options{AWSAccessKeyID: "AKIDFAKE", AWSSecretAccessKey: "fake-secret", AWSRegion: "eu-west-1"})
	env := map[string]string{"AWS_REGION_NAME": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret", "AWS_ENDPOINT_URL_KMS": f.URL,
		"OPENAI_KEY": fakesecrets.Encrypt("sk-decrypted"), "OPENAI_BASE": "https://api.example.com/v1", "LITELLM_MASTER_KEY": fakesecrets.Encrypt("sk-master-1")}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	body := `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_KEY, api_base: os.environ/OPENAI_BASE}
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  key_management_system: aws_kms
`
	cfg, err := config.Parse([]byte(body), "c.yaml", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Models[0].Params; p.APIKey != "sk-decrypted" || p.APIBase != "https://api.example.com/v1" {
		t.Errorf("api_key %q api_base %q", p.APIKey, p.APIBase)
	}
	if cfg.General.MasterKey != "sk-master-1" {
		t.Errorf("master_key %q", cfg.General.MasterKey)
	}
	_, err = config.Parse([]byte(strings.Replace(body, "key_management_system: aws_kms", "use_google_kms: true", 1)), "c.yaml", getenv)
	if err == nil || !strings.Contains(err.Error(), "c.yaml:7: error: general_settings.use_google_kms") || !strings.Contains(err.Error(), "google_kms: set GOOGLE_KMS_RESOURCE_NAME") {
		t.Errorf("use_google_kms without its settings: %v", err)
	}
}
