// Package fakesecrets is a test server speaking the wire formats of the
// secret managers llmgate reads (internal/secrets): AWS Secrets Manager's
// GetSecretValue (AWS JSON 1.1, X-Amz-Target, SigV4 checked with
// fakeprovider.VerifySigV4) and HashiCorp Vault's KV v2 read and AppRole
// login (X-Vault-Token), Azure Key Vault's get-secret with Entra ID's
// client-credentials token endpoint, AWS KMS's Decrypt and Google Cloud
// KMS's decrypt with Google's service-account token endpoint (the
// ciphertexts are Encrypt's). Tests only.
package fakesecrets
