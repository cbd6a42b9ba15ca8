package config

import (
	"fmt"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// SearchTool is a top-level search_tools entry (LiteLLM's search tools):
// a web search provider served at /v1/search/{search_tool_name}
// (internal/vectorstores, D150). Several entries may share a name: a
// search picks one at random, as LiteLLM's router does.
type SearchTool struct {
	Name     string // search_tool_name
	Provider string // litellm_params.search_provider: one of SearchProviders
	// APIKey (secret; never log) and APIBase: litellm_params', else the
	// provider's environment variables (TAVILY_API_KEY / TAVILY_API_BASE,
	// PERPLEXITYAI_API_KEY / PERPLEXITY_API_BASE), else its public base.
	APIKey  string
	APIBase string
	// Params are the entry's other litellm_params, sent with every search
	// (a request's own win).
	Params map[string]any
	// Description is search_tool_info.description (/v1/search/tools).
	Description string
	// InputCostPerQuery prices one search (litellm_params, else LiteLLM's
	// price list: tavily/search 0.008, tavily/search-advanced 0.016,
	// perplexity/search 0.005 USD).
	InputCostPerQuery *float64
	Pos               Pos
}

// SearchProviders are the search_provider values llmgate calls.
var SearchProviders = []string{"tavily", "perplexity"}

// searchProviderEnv: a provider's key and base variables and public base.
var searchProviderEnv = map[string][3]string{
	"tavily":     {"TAVILY_API_KEY", "TAVILY_API_BASE", "https://api.tavily.com"},
	"perplexity": {"PERPLEXITYAI_API_KEY", "PERPLEXITY_API_BASE", "https://api.perplexity.ai"},
}

// SearchToolsNamed are the entries named name.
func (c *Config) SearchToolsNamed(name string) []SearchTool {
	var out []SearchTool
	for _, t := range c.SearchTools {
		if t.Name == name {
			out = append(out, t)
		}
	}
	return out
}

// searchTools reads search_tools (LiteLLM's parse_search_tools).
func (p *parser) searchTools(cfg *Config, n *yaml.Node) {
	items, ok := p.sequence(n, "search_tools")
	if !ok {
		return
	}
	for i, it := range items {
		path := fmt.Sprintf("search_tools[%d]", i)
		es, ok := p.mapping(it, path)
		if !ok {
			continue
		}
		t := SearchTool{Pos: posOf(p.fileOf(it), deref(it))}
		var params []entry
		for _, e := range es {
			key := joinKey(path, e.Key)
			switch e.Key {
			case "search_tool_name":
				t.Name, _ = p.str(e.Value, key)
			case "litellm_params":
				params, _ = p.mapping(e.Value, key)
			case "search_tool_info":
				if m, ok := p.anyValue(e.Value, key).(map[string]any); ok {
					t.Description, _ = m["description"].(string)
				}
			case "search_tool_id":
			default:
				p.warnAt(e.KeyNode, key, "accepted, not implemented yet")
			}
		}
		pp := joinKey(path, "litellm_params")
		for _, f := range params {
			key := joinKey(pp, f.Key)
			switch f.Key {
			case "search_provider":
				t.Provider, _ = p.str(f.Value, key)
			case "api_key":
				t.APIKey, _ = p.str(f.Value, key)
			case "api_base":
				t.APIBase, _ = p.str(f.Value, key)
			case "input_cost_per_query":
				if v, ok := p.float(f.Value, key); ok {
					t.InputCostPerQuery = &v
				}
			default:
				if t.Params == nil {
					t.Params = map[string]any{}
				}
				t.Params[f.Key] = p.anyValue(f.Value, key)
			}
		}
		if t.Name == "" {
			p.errAt(deref(it), joinKey(path, "search_tool_name"), "is required")
			continue
		}
		env, known := searchProviderEnv[t.Provider]
		if !known {
			if t.Provider == "" {
				p.errAt(deref(it), joinKey(pp, "search_provider"), "is required")
			} else {
				p.errAt(deref(it), joinKey(pp, "search_provider"), "search provider %q is not supported yet (%s)", t.Provider, strings.Join(SearchProviders, ", "))
			}
			continue
		}
		if t.APIKey == "" {
			t.APIKey, _ = p.lookup(env[0])
		}
		if t.APIBase == "" {
			t.APIBase, _ = p.lookup(env[1])
		}
		if t.APIBase == "" {
			t.APIBase = env[2]
		}
		if u, err := url.Parse(t.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.errAt(deref(it), joinKey(pp, "api_base"), "needs an http(s) URL, got %q", t.APIBase)
			continue
		}
		cfg.SearchTools = append(cfg.SearchTools, t)
	}
}
