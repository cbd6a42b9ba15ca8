package config

import (
	"net/http"

	"gopkg.in/yaml.v3"

	"github.com/llmgate/llmgate/internal/secrets"
)

// KeyManagement is general_settings.key_management_system with
// key_management_settings (D118): the secret manager the config's
// os.environ/ references, LITELLM_MASTER_KEY and DATABASE_URL were read
// from while it loaded. Nothing reads it on the request path.
type KeyManagement struct {
	System   string
	Settings secrets.Settings
}

// secretsHTTPClient carries the secret managers' requests (tests may
// replace it; nil: internal/secrets' client with its timeout).
var secretsHTTPClient *http.Client

// keyManagementFields are key_management_settings' fields (LiteLLM's
// KeyManagementSettings): read, accepted without effect (they shape writes,
// which are not built), or refused.
var keyManagementFields = map[string]string{
	"hosted_keys": "read", "access_mode": "read", "primary_secret_name": "read",
	"aws_region_name": "read", "aws_role_name": "read", "aws_session_name": "read", "aws_external_id": "read",
	"aws_profile_name": "read", "aws_web_identity_token": "read", "aws_sts_endpoint": "read",
	"store_virtual_keys": "write", "prefix_for_stored_virtual_keys": "write", "description": "write",
	"tags": "write", "kms_key_id": "write", "replica_regions": "write",
	"custom_secret_manager": "python",
}

// keyManagement brings the secret manager up before os.environ/ references
// are resolved, as LiteLLM's _initialize_secret_manager_from_raw_config
// does: key_management_system and key_management_settings are resolved
// against the environment only (marked visited, so the main pass leaves
// them), the manager is opened, and p.secrets then answers the references
// it is consulted for. Under --no-env (UnsetEnvWarns) nothing is read from
// it: a warning says so.
func (p *parser) keyManagement(cfg *Config, general *yaml.Node, visited map[*yaml.Node]bool) {
	general = deref(general)
	if general == nil || general.Kind != yaml.MappingNode {
		return
	}
	var sysKey, sysNode, setNode *yaml.Node
	// LiteLLM's older switches: use_google_kms: true and
	// use_azure_key_vault: true load Google KMS and Azure Key Vault as
	// key_management_system does (LiteLLM reads Google's first).
	legacy := []struct {
		key, system string
		k, v        *yaml.Node
	}{{key: "use_google_kms", system: secrets.GoogleKMS}, {key: "use_azure_key_vault", system: secrets.AzureKeyVault}}
	for i := 0; i+1 < len(general.Content); i += 2 {
		switch k := general.Content[i].Value; k {
		case "key_management_system":
			sysKey, sysNode = general.Content[i], general.Content[i+1]
		case "key_management_settings":
			setNode = general.Content[i+1]
		default:
			for j := range legacy {
				if legacy[j].key == k {
					legacy[j].k, legacy[j].v = general.Content[i], general.Content[i+1]
				}
			}
		}
	}
	const base = "general_settings"
	sysPath := joinKey(base, "key_management_system")
	for _, l := range legacy {
		if l.v == nil {
			continue
		}
		p.resolveEnv(l.v, joinKey(base, l.key), visited)
		if on, ok := p.bool(l.v, joinKey(base, l.key)); ok && on {
			if sysNode == nil {
				sysKey, sysNode = l.k, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: l.system, Line: l.v.Line, Column: l.v.Column}
				sysPath = joinKey(base, l.key)
			} else if v := deref(sysNode); v != nil && v.Value != l.system {
				p.warnAt(l.k, joinKey(base, l.key), "ignored: key_management_system %q is set", v.Value)
			}
		}
	}
	if setNode != nil {
		p.resolveEnv(setNode, joinKey(base, "key_management_settings"), visited)
	}
	if sysNode == nil {
		if setNode != nil {
			p.warnAt(setNode, joinKey(base, "key_management_settings"), "has no effect without general_settings.key_management_system")
		}
		return
	}
	p.resolveEnv(sysNode, sysPath, visited)
	system, ok := p.str(sysNode, sysPath)
	if !ok || system == "" {
		return
	}
	km := &KeyManagement{System: system}
	if setNode != nil {
		km.Settings = p.keyManagementSettings(setNode, joinKey(base, "key_management_settings"))
	}
	if p.noEnv {
		p.warnAt(sysKey, sysPath, "%s: secrets are not read under --no-env; os.environ/ references are checked against the environment only", system)
		cfg.General.KeyManagement = km
		return
	}
	m, err := secrets.Open(system, km.Settings, p.lookup, secretsHTTPClient)
	if err != nil {
		p.errAt(sysNode, sysPath, "%v", err)
		return
	}
	p.secrets = m
	cfg.General.KeyManagement = km
}

// keyManagementSettings reads key_management_settings.
func (p *parser) keyManagementSettings(n *yaml.Node, path string) secrets.Settings {
	var st secrets.Settings
	es, ok := p.mapping(n, path)
	if !ok {
		return st
	}
	aws := &st.AWS
	for _, e := range es {
		key, v := joinKey(path, e.Key), e.Value
		switch keyManagementFields[e.Key] {
		case "":
			p.warnAt(e.KeyNode, key, "not a LiteLLM KeyManagementSettings field; ignored")
			continue
		case "python":
			p.errAt(e.KeyNode, key, "a Python class LiteLLM imports; llmgate cannot load it (key_management_system: custom is not possible)")
			continue
		case "write":
			if e.Key == "store_virtual_keys" {
				if on, ok := p.bool(v, key); ok && on {
					p.warnAt(e.KeyNode, key, "accepted, not implemented yet: generated keys are not written to the secret manager")
				}
			}
			continue
		}
		switch e.Key {
		case "hosted_keys":
			if l, ok := p.strList(v, key); ok {
				st.HostedKeys = append([]string{}, l...)
			}
		case "access_mode":
			st.AccessMode, _ = p.str(v, key)
		case "primary_secret_name":
			st.PrimarySecretName, _ = p.str(v, key)
		case "aws_region_name":
			aws.Region, _ = p.str(v, key)
		case "aws_role_name":
			aws.RoleName, _ = p.str(v, key)
		case "aws_session_name":
			aws.SessionName, _ = p.str(v, key)
		case "aws_external_id":
			aws.ExternalID, _ = p.str(v, key)
		case "aws_profile_name":
			aws.ProfileName, _ = p.str(v, key)
		case "aws_web_identity_token":
			aws.WebIdentityToken, _ = p.str(v, key)
		case "aws_sts_endpoint":
			aws.STSEndpoint, _ = p.str(v, key)
		}
	}
	return st
}

// envRef looks a referenced variable up: from the secret manager when one
// is up and consulted for the name (LiteLLM's get_secret), else — and when
// the manager does not hold it — from environment_variables and the
// environment. A manager that fails is an error (err), never a silent
// fallback: a reload then keeps the previous config.
func (p *parser) envRef(name string) (string, bool, error) {
	if p.secrets != nil {
		v, found, err := p.secrets.Lookup(name)
		if err != nil {
			return "", false, err
		}
		if found {
			return v, true, nil
		}
	}
	v, ok := p.lookup(name)
	return v, ok, nil
}
