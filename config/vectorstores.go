package config

import (
	"fmt"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// VectorStore is a top-level vector_store_registry entry (LiteLLM's
// load_vector_stores_from_config): a provider's vector store the gateway
// searches at /v1/vector_stores/{id}/search and for chat completions that
// name it in vector_store_ids or a file_search tool
// (internal/vectorstores, D150).
type VectorStore struct {
	Name        string // vector_store_name
	ID          string // litellm_params.vector_store_id
	Provider    string // litellm_params.custom_llm_provider: openai or bedrock
	Description string
	Metadata    map[string]any
	// APIKey and APIBase: OpenAI's credential and base (api_key, else
	// OPENAI_API_KEY; api_base, else OPENAI_BASE_URL / OPENAI_API_BASE,
	// else https://api.openai.com/v1). Secret; never log.
	APIKey  string
	APIBase string
	// AWSAccess: Bedrock knowledge bases' credentials (aws_access_key_id
	// …, else AWS_ACCESS_KEY_ID …) and region (aws_region_name, else
	// AWS_REGION / AWS_REGION_NAME, else us-west-2: awsEnvDefaults);
	// APIBase, else aws_bedrock_runtime_endpoint, else
	// AWS_BEDROCK_RUNTIME_ENDPOINT, else
	// https://bedrock-agent-runtime.{region}.amazonaws.com.
	AWSAccess
	// Search holds the search parameters the entry sets (max_num_results,
	// filters, ranking_options, rewrite_query): they win over a file_search
	// tool's, as in LiteLLM's pop_vector_stores_to_run.
	Search map[string]any
	Pos    Pos
}

// VectorStoreProviders are the custom_llm_provider values llmgate searches.
var VectorStoreProviders = []string{"openai", "bedrock"}

// VectorStoreSearchParams are the OpenAI search parameters LiteLLM passes on
// (VECTOR_STORE_OPENAI_PARAMS).
var VectorStoreSearchParams = []string{"filters", "max_num_results", "ranking_options", "rewrite_query"}

// OpenAIVectorStoreDefaults is the store an id that no registry entry names
// is searched with: OpenAI with the environment's key and base, as
// LiteLLM's vector_stores.search defaults to.
func (c *Config) OpenAIVectorStoreDefaults() VectorStore {
	return c.vectorStoreDefault
}

// VectorStoreByID is the registry entry with vector_store_id id.
func (c *Config) VectorStoreByID(id string) (VectorStore, bool) {
	for _, v := range c.VectorStores {
		if v.ID == id {
			return v, true
		}
	}
	return VectorStore{}, false
}

// vectorStoreRegistry reads vector_store_registry.
func (p *parser) vectorStoreRegistry(cfg *Config, n *yaml.Node) {
	env := func(names ...string) string {
		for _, name := range names {
			if v, _ := p.lookup(name); v != "" {
				return v
			}
		}
		return ""
	}
	cfg.vectorStoreDefault = VectorStore{Provider: "openai", APIKey: env("OPENAI_API_KEY"), APIBase: env("OPENAI_BASE_URL", "OPENAI_API_BASE")}
	if cfg.vectorStoreDefault.APIBase == "" {
		cfg.vectorStoreDefault.APIBase = "https://api.openai.com/v1"
	}
	if n == nil || isNull(deref(n)) {
		return
	}
	items, ok := p.sequence(n, "vector_store_registry")
	if !ok {
		return
	}
	seen := map[string]bool{}
	for i, it := range items {
		path := fmt.Sprintf("vector_store_registry[%d]", i)
		es, ok := p.mapping(it, path)
		if !ok {
			continue
		}
		v := VectorStore{Pos: posOf(p.fileOf(it), deref(it))}
		var params []entry
		for _, e := range es {
			key := joinKey(path, e.Key)
			switch e.Key {
			case "vector_store_name":
				v.Name, _ = p.str(e.Value, key)
			case "litellm_params":
				params, _ = p.mapping(e.Value, key)
			case "vector_store_description":
				v.Description, _ = p.str(e.Value, key)
			default:
				p.warnAt(e.KeyNode, key, "accepted, not implemented yet")
			}
		}
		pp := joinKey(path, "litellm_params")
		var awsEndpoint string
		for _, f := range params {
			key := joinKey(pp, f.Key)
			switch f.Key {
			case "vector_store_id":
				v.ID, _ = p.str(f.Value, key)
			case "custom_llm_provider":
				v.Provider, _ = p.str(f.Value, key)
			case "vector_store_description":
				v.Description, _ = p.str(f.Value, key)
			case "vector_store_metadata":
				v.Metadata = p.anyMap(f.Value, key)
			case "api_key":
				v.APIKey, _ = p.str(f.Value, key)
			case "api_base":
				v.APIBase, _ = p.str(f.Value, key)
			case "aws_access_key_id":
				v.AWSAccessKeyID, _ = p.str(f.Value, key)
			case "aws_secret_access_key":
				v.AWSSecretAccessKey, _ = p.str(f.Value, key)
			case "aws_session_token":
				v.AWSSessionToken, _ = p.str(f.Value, key)
			case "aws_region_name":
				v.AWSRegion, _ = p.str(f.Value, key)
			case "aws_bedrock_runtime_endpoint":
				awsEndpoint, _ = p.str(f.Value, key)
			case "filters", "max_num_results", "ranking_options", "rewrite_query":
				if v.Search == nil {
					v.Search = map[string]any{}
				}
				v.Search[f.Key] = p.anyValue(f.Value, key)
			default:
				p.warnAt(f.KeyNode, key, "accepted, not implemented yet (D150)")
			}
		}
		if v.ID == "" {
			p.errAt(deref(it), joinKey(pp, "vector_store_id"), "is required for initializing vector store")
			continue
		}
		if seen[v.ID] {
			p.errAt(deref(it), joinKey(pp, "vector_store_id"), "%q is already another vector store's id", v.ID)
			continue
		}
		seen[v.ID] = true
		switch v.Provider {
		case "openai":
			if v.APIKey == "" {
				v.APIKey = cfg.vectorStoreDefault.APIKey
			}
			if v.APIBase == "" {
				v.APIBase = cfg.vectorStoreDefault.APIBase
			}
		case "bedrock":
			p.awsEnvDefaults(&v.AWSAccess)
			if v.APIBase == "" {
				v.APIBase = p.awsEndpoint(awsEndpoint, "bedrock-agent-runtime", v.AWSRegion)
			}
		case "":
			p.errAt(deref(it), joinKey(pp, "custom_llm_provider"), "is required for initializing vector store")
			continue
		default:
			p.errAt(deref(it), joinKey(pp, "custom_llm_provider"), "vector store provider %q is not supported yet (%s)", v.Provider, strings.Join(VectorStoreProviders, ", "))
			continue
		}
		if u, err := url.Parse(v.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.errAt(deref(it), joinKey(pp, "api_base"), "needs an http(s) URL, got %q", v.APIBase)
			continue
		}
		cfg.VectorStores = append(cfg.VectorStores, v)
	}
}
