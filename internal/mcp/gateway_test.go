package mcp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/llmgate/llmgate/config"
)

// TestUpstreamHeaders: each auth_type's header as LiteLLM sends it, the
// static headers, and only the client headers extra_headers names.
func TestUpstreamHeaders(t *testing.T) {
	client := http.Header{"X-Trace": {"t"}, "X-Other": {"o"}, "Authorization": {"Bearer sk-client"}}
	for _, tc := range []struct{ typ, value, header, want string }{
		{"api_key", "k", "X-Api-Key", "k"},
		{"bearer_token", "tok", "Authorization", "Bearer tok"},
		{"basic", "user:pass", "Authorization", "Basic dXNlcjpwYXNz"},
		{"basic", "dXNlcjpwYXNz", "Authorization", "Basic dXNlcjpwYXNz"},
		{"token", "gh", "Authorization", "token gh"},
		{"authorization", "Custom abc", "Authorization", "Custom abc"},
		{"none", "x", "Authorization", ""},
	} {
		s := config.MCPServer{AuthType: tc.typ, AuthValue: tc.value, StaticHeaders: map[string]string{"X-Tenant": "t1"}, ExtraHeaders: []string{"x-trace"}}
		h := upstreamHeaders(&s, client)
		if got := h.Get(tc.header); got != tc.want {
			t.Errorf("%s: %s %q, want %q", tc.typ, tc.header, got, tc.want)
		}
		if h.Get("X-Tenant") != "t1" || h.Get("X-Trace") != "t" || h.Get("X-Other") != "" {
			t.Errorf("%s: headers %v", tc.typ, h)
		}
		if tc.typ == "none" && h.Get("Authorization") != "" {
			t.Errorf("the client's Authorization went upstream: %v", h)
		}
	}
}

// TestClientServerHeaders: x-mcp-{server}-{header} replaces the server's
// credential for that server only, by name or alias.
func TestClientServerHeaders(t *testing.T) {
	s := config.MCPServer{Name: "gh", Alias: "git", AuthType: "bearer_token", AuthValue: "cfg"}
	h := upstreamHeaders(&s, http.Header{"X-Mcp-Git-Authorization": {"Bearer mine"}, "X-Mcp-Other-Authorization": {"Bearer no"}, "X-Mcp-Gh-X-Org": {"o"}})
	if h.Get("Authorization") != "Bearer mine" || h.Get("X-Org") != "o" || len(h) != 2 {
		t.Errorf("headers %v", h)
	}
	if h := upstreamHeaders(&s, http.Header{"X-Mcp-Other-Authorization": {"Bearer no"}}); h.Get("Authorization") != "Bearer cfg" {
		t.Errorf("another server's header used: %v", h)
	}
}

// TestRoute: the MCP paths and the servers they select.
func TestRoute(t *testing.T) {
	g := New([]config.MCPServer{{Name: "math", Separator: "-"}, {Name: "gh", Alias: "git", Separator: "-"}}, nil, "test", nil)
	for path, want := range map[string]string{"/mcp": "", "/mcp/": "", "/mcp/math,git": "math,git", "/mcp/x/y": "x", "/math/mcp": "math", "/git/mcp/": "git", "/gh/mcp": "gh"} {
		if got, ok := g.Route(path); !ok || got != want {
			t.Errorf("%s: %q %v, want %q", path, got, ok, want)
		}
	}
	for _, path := range []string{"/other/mcp", "/v1/mcp/server", "/mcpx", "/math/mcpx"} {
		if got, ok := g.Route(path); ok {
			t.Errorf("%s: an MCP route (%q)", path, got)
		}
	}
	if s := g.scope(http.Header{ServersHeader: {"git, nope"}}); len(s) != 1 || s[0].Name != "gh" {
		t.Errorf("scope %v", s)
	}
}

// TestAllowed: allowed_tools and disallowed_tools by either name form.
func TestAllowed(t *testing.T) {
	s := config.MCPServer{Name: "srv", Separator: "-", AllowedTools: []string{"a", "srv-b", "c"}, DisallowedTools: []string{"c"}}
	for name, want := range map[string]bool{"a": true, "b": true, "c": false, "d": false} {
		if got := allowed(&s, name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

// fakeUpstream is an SDK server with one tool over streamable HTTP.
func fakeUpstream(tb testing.TB) *httptest.Server {
	s := sdk.NewServer(&sdk.Implementation{Name: "fake", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "echo"}, func(_ context.Context, _ *sdk.CallToolRequest, in struct {
		Text string `json:"text"`
	}) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: in.Text}}}, nil, nil
	})
	srv := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, &sdk.StreamableHTTPOptions{Stateless: true}))
	tb.Cleanup(srv.Close)
	return srv
}

// BenchmarkCall is one tools/call through the gateway (a session opened
// and closed upstream per request) beside the same call on a session kept
// open (what a gateway that pooled sessions would pay).
func BenchmarkCall(b *testing.B) {
	up := fakeUpstream(b)
	ctx := context.Background()
	args := map[string]any{"text": "hi"}
	b.Run("gateway", func(b *testing.B) {
		g := New([]config.MCPServer{{Name: "s", URL: up.URL, Transport: "http", Separator: "-"}}, nil, "test", nil)
		for b.Loop() {
			if _, err := g.Call(ctx, "s-echo", "", args, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open-session", func(b *testing.B) {
		c := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil)
		cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: up.URL, DisableStandaloneSSE: true}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		for b.Loop() {
			if _, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "echo", Arguments: args}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
