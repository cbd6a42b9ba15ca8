// Package secrets reads the secrets a config names (its os.environ/
// references, the master key, the database URL) from the secret manager
// general_settings.key_management_system names, as LiteLLM's get_secret
// does: AWS Secrets Manager (GetSecretValue, signed with SigV4 by
// aws-sdk-go-v2), HashiCorp Vault (KV v2 reads with a token or an
// AppRole login) and Azure Key Vault (its REST get-secret with an Entra ID
// token from golang.org/x/oauth2's client-credentials flow), Google Secret
// Manager (REST access with a service account's token); and it
// decrypts the environment's encrypted values with AWS KMS (Decrypt) or
// Google Cloud KMS (REST decrypt with a service account's token). The
// config package calls it while it loads a config, never on the request
// path.
//
// It imports the AWS SDK, golang.org/x/oauth2, internal/awscreds and
// internal/backendauth (Google service-account tokens) only; never config,
// extproc or Envoy types. It never logs a secret's value.
package secrets
