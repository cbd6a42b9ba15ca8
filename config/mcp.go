package config

import (
	"net/url"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// MCPServer is one entry of the top-level mcp_servers: an upstream MCP
// server whose tools the gateway serves at /mcp (internal/mcp, D140).
type MCPServer struct {
	// Name is the entry's key (LiteLLM's server_name).
	Name string
	// Alias, when set, names the server in its tools' prefix instead of Name.
	Alias string
	// URL is the upstream endpoint; Transport is "http" (streamable HTTP,
	// the default) or "sse".
	URL       string
	Transport string
	// AuthType is "", "none", "api_key", "bearer_token", "basic", "token"
	// or "authorization"; AuthValue its credential (secret; never log).
	AuthType  string
	AuthValue string
	// Description and Info (mcp_info) are shown by /mcp-rest/tools/list.
	Description string
	Info        map[string]any
	// AllowedTools, when not empty, are the only tools served;
	// DisallowedTools are never served. Either name form matches (the
	// upstream's name or the prefixed one).
	AllowedTools    []string
	DisallowedTools []string
	// StaticHeaders go with every upstream request; ExtraHeaders name the
	// client's headers that are copied to it.
	StaticHeaders map[string]string
	ExtraHeaders  []string
	// Separator joins the prefix and an upstream tool's name
	// (MCP_TOOL_PREFIX_SEPARATOR, default "-").
	Separator string
	Pos       Pos
}

// Prefix is what the server's tool names start with (before Separator):
// the alias, else the name (LiteLLM's get_server_prefix).
func (s MCPServer) Prefix() string {
	if s.Alias != "" {
		return s.Alias
	}
	return s.Name
}

// mcpAuthTypes are the auth_type values llmgate sends; LiteLLM's others
// (oauth2, aws_sigv4, true_passthrough, oauth_delegate) are refused.
var mcpAuthTypes = map[string]bool{"": true, "none": true, "api_key": true, "bearer_token": true, "basic": true, "token": true, "authorization": true}

// mcpServers reads mcp_servers: a mapping of server name to its settings
// (LiteLLM's load_servers_from_config).
func (p *parser) mcpServers(cfg *Config, n *yaml.Node) {
	if isNull(deref(n)) {
		return
	}
	es, ok := p.mapping(n, "mcp_servers")
	if !ok {
		return
	}
	sep := "-"
	if v, ok := p.lookup("MCP_TOOL_PREFIX_SEPARATOR"); ok && v != "" {
		sep = v
	}
	prefixes := map[string]bool{}
	for _, e := range es {
		path := joinKey("mcp_servers", e.Key)
		s := MCPServer{Name: e.Key, Transport: "http", Separator: sep, Pos: posOf(p.fileOf(e.KeyNode), e.KeyNode)}
		if strings.Contains(e.Key, sep) {
			p.errAt(e.KeyNode, path, "a server name cannot contain %q (MCP_TOOL_PREFIX_SEPARATOR): it separates the server's name from a tool's", sep)
		}
		fields, ok := p.mapping(e.Value, path)
		if !ok {
			continue
		}
		for _, f := range fields {
			key := joinKey(path, f.Key)
			switch f.Key {
			case "url":
				s.URL, _ = p.str(f.Value, key)
			case "transport":
				if t, ok := p.str(f.Value, key); ok {
					switch t {
					case "http", "sse":
						s.Transport = t
					case "stdio":
						p.errAt(f.Value, key, "stdio MCP servers are not supported yet (http or sse)")
					default:
						p.errAt(f.Value, key, "must be http or sse, got %q", t)
					}
				}
			case "auth_type":
				if t, ok := p.str(f.Value, key); ok {
					if !mcpAuthTypes[t] {
						p.errAt(f.Value, key, "auth_type %q is not supported yet (none, api_key, bearer_token, basic, token, authorization)", t)
					}
					s.AuthType = t
				}
			case "auth_value", "authentication_token":
				if v, ok := p.str(f.Value, key); ok && (s.AuthValue == "" || f.Key == "authentication_token") {
					s.AuthValue = v // LiteLLM: authentication_token wins over auth_value
				}
			case "description":
				s.Description, _ = p.str(f.Value, key)
			case "alias":
				s.Alias, _ = p.str(f.Value, key)
			case "server_name":
				p.str(f.Value, key) // LiteLLM reads the entry's key
			case "mcp_info":
				s.Info = p.anyMap(f.Value, key)
			case "allowed_tools":
				s.AllowedTools, _ = p.strList(f.Value, key)
			case "disallowed_tools":
				s.DisallowedTools, _ = p.strList(f.Value, key)
			case "static_headers":
				s.StaticHeaders, _ = p.strMap(f.Value, key)
			case "extra_headers":
				s.ExtraHeaders, _ = p.strList(f.Value, key)
			case "spec_version", "access_groups", "allow_all_keys", "available_on_public_internet", "allowed_params":
				p.warnAt(f.KeyNode, key, "not implemented yet: ignored (D140)")
			default:
				p.errAt(f.KeyNode, key, "unknown or not yet supported key %q in an MCP server (url, transport, auth_type, auth_value, description, alias, mcp_info, allowed_tools, disallowed_tools, static_headers, extra_headers)", f.Key)
			}
		}
		if s.URL == "" {
			p.errAt(deref(e.Value), joinKey(path, "url"), "is required (stdio servers are not supported yet)")
		} else if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.errAt(deref(e.Value), joinKey(path, "url"), "must be an http:// or https:// URL")
		} else if u.User != nil {
			p.errAt(deref(e.Value), joinKey(path, "url"), "must not hold user:password@ (use auth_type: basic)")
		}
		if prefixes[s.Prefix()] {
			p.errAt(e.KeyNode, path, "%q is already another MCP server's name or alias", s.Prefix())
		}
		prefixes[s.Prefix()] = true
		cfg.MCPServers = append(cfg.MCPServers, s)
	}
	sort.Slice(cfg.MCPServers, func(i, j int) bool { return cfg.MCPServers[i].Name < cfg.MCPServers[j].Name })
}
