package config

import "testing"

// TestMCPServersConfig: mcp_servers read with os.environ/ in auth_value,
// MCP_TOOL_PREFIX_SEPARATOR, sorted by name; a name holding the
// separator, a stdio server, an unsupported auth_type and a URL with a
// password are errors at their line.
func TestMCPServersConfig(t *testing.T) {
	const head = "model_list: []\nmcp_servers:\n"
	cfg := mustParse(t, head+`  zeta:
    url: https://z.example/mcp
    auth_type: bearer_token
    auth_value: os.environ/ZT
    allowed_tools: [a]
    static_headers: {X-T: "1"}
    extra_headers: [X-Trace]
  alpha:
    url: http://a.example/sse
    transport: sse
    alias: al
    mcp_info: {logo_url: http://l}
`, env("ZT", "tok"))
	s := cfg.MCPServers
	if len(s) != 2 || s[0].Name != "alpha" || s[0].Prefix() != "al" || s[0].Transport != "sse" || s[0].Info["logo_url"] != "http://l" ||
		s[1].Name != "zeta" || s[1].Transport != "http" || s[1].AuthValue != "tok" || s[1].Separator != "-" ||
		len(s[1].AllowedTools) != 1 || s[1].StaticHeaders["X-T"] != "1" || s[1].ExtraHeaders[0] != "X-Trace" {
		t.Fatalf("servers %+v", s)
	}
	cfg = mustParse(t, head+"  my-srv: {url: http://x/mcp}\n", env("MCP_TOOL_PREFIX_SEPARATOR", "__"))
	if cfg.MCPServers[0].Separator != "__" {
		t.Errorf("separator %q", cfg.MCPServers[0].Separator)
	}
	for _, tc := range []struct{ yml, want string }{
		{"  my-srv: {url: http://x/mcp}\n", "cannot contain \"-\""},
		{"  s: {url: http://x/mcp, transport: stdio}\n", "stdio MCP servers are not supported yet"},
		{"  s: {url: http://x/mcp, auth_type: oauth2}\n", "auth_type \"oauth2\" is not supported yet"},
		{"  s: {url: \"http://u:p@x/mcp\"}\n", "must not hold user:password@"},
		{"  s: {command: python}\n", "unknown or not yet supported key \"command\""},
	} {
		le := parseErr(t, head+tc.yml, nil)
		if !hasDiag(le.Diagnostics, "test.yaml:3") || !hasDiag(le.Diagnostics, tc.want) {
			t.Errorf("%q: %v", tc.yml, le.Diagnostics)
		}
	}
}
