package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/llmgate/llmgate/internal/awscreds"
)

// The key_management_system values LiteLLM knows (its KeyManagementSystem).
const (
	AWSSecretManager = "aws_secret_manager"
	HashiCorpVault   = "hashicorp_vault"
	AzureKeyVault    = "azure_key_vault"
	AWSKMS           = "aws_kms"
	GoogleKMS        = "google_kms"
	// GoogleSecretManager is Google Cloud's Secret Manager.
	GoogleSecretManager = "google_secret_manager"
)

// NotBuilt are LiteLLM's other key_management_system values: accepted by
// LiteLLM, not built here.
var NotBuilt = []string{"cyberark", "custom"}

// Settings are general_settings.key_management_settings, resolved against
// the environment (LiteLLM reads them before its secret manager is up).
type Settings struct {
	// HostedKeys, when set, are the only names read from the manager
	// (others come from the environment).
	HostedKeys []string
	// AccessMode is read_only (the default), write_only (nothing is read
	// from the manager) or read_and_write.
	AccessMode string
	// PrimarySecretName: AWS only — every name is a field of this one
	// secret's JSON object.
	PrimarySecretName string
	// AWS are the aws_* settings (region, role, session, external id,
	// profile, web identity token, STS endpoint).
	AWS awscreds.Settings
}

// FetchTimeout bounds one read from a secret manager (LiteLLM's client has
// no bound of its own here; a config load must not hang).
const FetchTimeout = 10 * time.Second

// maxValue bounds a secret's size (AWS's own limit is 64 KiB).
const maxValue = 1 << 20

// reader reads one secret by name: found false when the manager does not
// hold it (AWS ResourceNotFoundException, Vault 404), an error when the
// manager could not be asked or refused.
type reader interface {
	read(ctx context.Context, name string) (value string, found bool, err error)
}

// Manager reads secrets for one config load. It remembers each answer, so a
// name referenced twice is read once; a reload opens a new Manager, so it
// reads them again.
type Manager struct {
	system string
	st     Settings
	r      reader
	getenv func(string) (string, bool)
	seen   map[string]result
	// primary is the primary secret's fields once read.
	primary map[string]string
}

type result struct {
	v     string
	found bool
	err   error
}

// Open returns the manager system names, configured from settings and the
// environment (getenv: the variables LiteLLM reads for it, such as
// HCP_VAULT_ADDR and AWS_REGION_NAME). hc carries its requests (nil: a
// client with FetchTimeout).
func Open(system string, st Settings, getenv func(string) (string, bool), hc *http.Client) (*Manager, error) {
	if hc == nil {
		hc = &http.Client{Timeout: FetchTimeout}
	}
	switch st.AccessMode {
	case "", "read_only", "write_only", "read_and_write":
	default:
		return nil, fmt.Errorf("key_management_settings.access_mode must be read_only, write_only or read_and_write, got %q", st.AccessMode)
	}
	m := &Manager{system: system, st: st, getenv: getenv, seen: map[string]result{}}
	var err error
	switch system {
	case AWSSecretManager:
		m.r, err = newAWS(st, getenv, hc)
	case HashiCorpVault:
		m.r, err = newVault(getenv, hc)
	case AzureKeyVault:
		m.r, err = newAzure(getenv, hc)
	case AWSKMS:
		m.r, err = newAWSKMS(st, getenv, hc)
	case GoogleKMS:
		m.r, err = newGoogleKMS(getenv, hc)
	case GoogleSecretManager:
		m.r, err = newGoogleSM(getenv, hc)
	default:
		if slices.Contains(NotBuilt, system) {
			return nil, fmt.Errorf("key_management_system %q is not implemented yet (built: %s, %s, %s, %s, %s, %s)", system, AWSSecretManager, HashiCorpVault, AzureKeyVault, AWSKMS, GoogleKMS, GoogleSecretManager)
		}
		return nil, fmt.Errorf("key_management_system %q is not one LiteLLM knows (%s, %s, …)", system, AWSSecretManager, HashiCorpVault)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// System is the key_management_system value.
func (m *Manager) System() string { return m.system }

// awsEnvNames are never read from AWS Secrets Manager: its own client
// needs them (LiteLLM's sync_read_secret reads them from the environment).
var awsEnvNames = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION_NAME", "AWS_REGION", "AWS_BEDROCK_RUNTIME_ENDPOINT"}

// Consulted reports whether name is read from the manager (LiteLLM's
// secret_manager_would_be_consulted): not in write_only mode, and among
// hosted_keys when they are set.
func (m *Manager) Consulted(name string) bool {
	if m == nil || m.st.AccessMode == "write_only" {
		return false
	}
	if m.system == AWSSecretManager && slices.Contains(awsEnvNames, name) {
		return false
	}
	return m.st.HostedKeys == nil || slices.Contains(m.st.HostedKeys, name)
}

// unsafeName is a ".." path segment (LiteLLM's raise_if_unsafe_secret_name).
var unsafeName = regexp.MustCompile(`(^|/)\.\.(/|$)`)

// Lookup reads name from the manager when it is consulted for it: found
// false when the manager does not hold it (the caller then reads the
// environment, as LiteLLM does for Vault), an error when the manager failed.
func (m *Manager) Lookup(name string) (string, bool, error) {
	if !m.Consulted(name) {
		return "", false, nil
	}
	if r, ok := m.seen[name]; ok {
		return r.v, r.found, r.err
	}
	r := m.lookup(name)
	m.seen[name] = r
	return r.v, r.found, r.err
}

func (m *Manager) lookup(name string) result {
	if name == "" || unsafeName.MatchString(name) {
		return result{err: fmt.Errorf("invalid secret name %q", name)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), FetchTimeout)
	defer cancel()
	if m.system == AWSSecretManager && m.st.PrimarySecretName != "" {
		if m.primary == nil {
			raw, found, err := m.r.read(ctx, m.st.PrimarySecretName)
			if err != nil {
				return result{err: fmt.Errorf("primary secret %q: %w", m.st.PrimarySecretName, err)}
			}
			m.primary = map[string]string{}
			if found {
				if err := decodePrimary(raw, m.primary); err != nil {
					m.primary = nil
					return result{err: fmt.Errorf("primary secret %q: %w", m.st.PrimarySecretName, err)}
				}
			}
		}
		v, ok := m.primary[name]
		return result{v: v, found: ok}
	}
	v, found, err := m.r.read(ctx, name)
	return result{v: v, found: found, err: err}
}

// decodePrimary reads a primary secret: a JSON object of names to values.
// A value that is not a string (a number, a boolean) is kept as its JSON
// text, which the config then reads by its type, as LiteLLM keeps the
// parsed value.
func decodePrimary(raw string, into map[string]string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return errors.New("is not a JSON object of names to values")
	}
	for k, v := range obj {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			into[k] = s
			continue
		}
		if len(v) > 0 && (v[0] == '{' || v[0] == '[') {
			return fmt.Errorf("field %q is not a string, number or boolean", k)
		}
		if string(v) != "null" {
			into[k] = string(v)
		}
	}
	return nil
}
