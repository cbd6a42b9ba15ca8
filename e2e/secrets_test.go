package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/fakesecrets"
)

func secretsGatewayConfig(fake, system, marker string) string {
	return fmt.Sprintf(`# %s
model_list:
  - model_name: gpt-sec
    litellm_params:
      model: openai/gpt-4o
      api_base: %s/v1
      api_key: os.environ/PROVIDER_KEY
general_settings:
  key_management_system: %s
`, marker, fake, system)
}

// TestKeyManagementSystem (D118): with key_management_system the
// deployment's os.environ/PROVIDER_KEY and the master key
// (LITELLM_MASTER_KEY, also set in the environment to another value) are
// read from the secret manager — the fake speaking Vault's KV v2 and AWS
// Secrets Manager's GetSecretValue with SigV4 — through the real Envoy with
// openai-go; a changed secret is read at the next reload; a reload while the
// manager fails is rejected and the previous config keeps serving; a first
// start while it fails exits with an error naming the key. No secret value
// reaches the logs.
func TestKeyManagementSystem(t *testing.T) {
	sec := fakesecrets.Start(t, fakesecrets.Options{VaultToken: "hvs.e2e", AWSAccessKeyID: "AKIDSECRETS", AWSSecretAccessKey: "secrets-sk", AWSRegion: "eu-central-1"})
	env := []string{
		"HCP_VAULT_ADDR=" + sec.URL, "HCP_VAULT_TOKEN=hvs.e2e",
		"AWS_REGION_NAME=eu-central-1", "AWS_ACCESS_KEY_ID=AKIDSECRETS", "AWS_SECRET_ACCESS_KEY=secrets-sk",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + sec.URL,
		"LITELLM_MASTER_KEY=sk-master-from-env", "PROVIDER_KEY=sk-provider-from-env",
	}
	for _, system := range []string{"hashicorp_vault", "aws_secret_manager"} {
		t.Run(system, func(t *testing.T) {
			sec.SetDown(false)
			sec.Put("PROVIDER_KEY", "sk-provider-one")
			sec.Put("LITELLM_MASTER_KEY", "sk-master-from-manager")
			fake := fakeprovider.StartT(t, fakeprovider.Options{APIKeys: []string{"sk-provider-one", "sk-provider-two"}})
			g := startGateway(t, secretsGatewayConfig(fake.URL(), system, "first"), env...)
			ctx := context.Background()
			chat := func(key string) error {
				c := newClient(g, key)
				_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
					Model: "gpt-sec", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
				})
				return err
			}
			providerKey := func() string {
				r, ok := fake.Last()
				if !ok {
					return ""
				}
				return r.Header.Get("Authorization")
			}
			if err := chat("sk-master-from-manager"); err != nil {
				t.Fatalf("the manager's master key: %v", err)
			}
			if got := providerKey(); got != "Bearer sk-provider-one" {
				t.Errorf("the provider got %q, want the manager's key", got)
			}
			if err := chat("sk-master-from-env"); err == nil || !strings.Contains(err.Error(), "401") {
				t.Errorf("the environment's master key: %v, want 401", err)
			}

			// A changed secret is read at the next reload.
			sec.Put("PROVIDER_KEY", "sk-provider-two")
			g.WriteConfig(secretsGatewayConfig(fake.URL(), system, "second"))
			deadline := time.Now().Add(20 * time.Second)
			for {
				if err := chat("sk-master-from-manager"); err != nil {
					t.Fatalf("during the reload: %v", err)
				}
				if providerKey() == "Bearer sk-provider-two" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the new secret was not used 20 s after the reload; the provider got %q", providerKey())
				}
				time.Sleep(100 * time.Millisecond)
			}

			// The manager fails: the reload is rejected, the old config serves.
			sec.SetDown(true)
			g.WriteConfig(secretsGatewayConfig(fake.URL(), system, "third"))
			deadline = time.Now().Add(20 * time.Second)
			for !strings.Contains(g.Stderr(), "reading PROVIDER_KEY from the secret manager ("+system+")") {
				if time.Now().After(deadline) {
					t.Fatalf("no rejected reload logged:\n%s", g.Logs())
				}
				time.Sleep(100 * time.Millisecond)
			}
			if !strings.Contains(g.Stderr(), "config reload rejected; the previous config keeps serving") {
				t.Errorf("the reload was not rejected:\n%s", g.Stderr())
			}
			if err := chat("sk-master-from-manager"); err != nil || providerKey() != "Bearer sk-provider-two" {
				t.Errorf("after the failed reload: %v, provider got %q", err, providerKey())
			}
			for _, s := range []string{"sk-provider-one", "sk-provider-two", "sk-master-from-manager"} {
				if strings.Contains(g.Logs(), s) {
					t.Errorf("a secret value (%s) is in the logs", s)
				}
			}

			// First start while the manager fails: a clear error, no gateway.
			g2 := newGateway(t, secretsGatewayConfig(fake.URL(), system, "down"), nil, env...)
			g2.start(t)
			select {
			case <-g2.done:
			case <-time.After(30 * time.Second):
				t.Fatalf("llmgate started while the secret manager failed:\n%s", g2.Logs())
			}
			if l := g2.Logs(); !strings.Contains(l, "model_list[0].litellm_params.api_key: reading PROVIDER_KEY from the secret manager ("+system+")") {
				t.Errorf("first start: no error naming the key:\n%s", l)
			}
		})
	}
}
