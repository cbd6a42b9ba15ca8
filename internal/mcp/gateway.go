package mcp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/llmgate/llmgate/config"
)

// maxTools bounds the tools taken from one upstream server's listing.
const maxTools = 10000

// Gateway serves the tools of a config's mcp_servers.
type Gateway struct {
	servers []config.MCPServer
	base    http.RoundTripper
	log     *slog.Logger
	handler http.Handler
	version string
}

// New is the gateway of servers; base carries its upstream requests (nil:
// http.DefaultTransport). version is the gateway's in its serverInfo.
func New(servers []config.MCPServer, base http.RoundTripper, version string, log *slog.Logger) *Gateway {
	if base == nil {
		base = http.DefaultTransport
	}
	if log == nil {
		log = slog.Default()
	}
	g := &Gateway{servers: servers, base: base, log: log, version: version}
	srv := sdk.NewServer(&sdk.Implementation{Name: "litellm-mcp-server", Version: version},
		&sdk.ServerOptions{Capabilities: &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}}})
	srv.AddReceivingMiddleware(g.intercept)
	g.handler = sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv },
		&sdk.StreamableHTTPOptions{Stateless: true, JSONResponse: true, Logger: nil})
	return g
}

// ServeHTTP answers one MCP request (streamable HTTP, stateless).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

// intercept answers tools/list and tools/call from the upstream servers;
// the SDK answers the rest (initialize, ping, notifications).
func (g *Gateway) intercept(next sdk.MethodHandler) sdk.MethodHandler {
	return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
		var hdr http.Header
		if ex := req.GetExtra(); ex != nil {
			hdr = ex.Header
		}
		switch method {
		case "tools/list":
			scope := g.scope(hdr)
			tools := []*sdk.Tool{}
			for _, st := range g.listAll(ctx, scope, hdr) {
				for _, t := range st.tools {
					c := *t
					if len(scope) != 1 {
						// LiteLLM prefixes the names unless one server is in scope.
						c.Name = st.srv.Prefix() + st.srv.Separator + t.Name
					}
					tools = append(tools, &c)
				}
			}
			return &sdk.ListToolsResult{Tools: tools}, nil
		case "tools/call":
			p, _ := req.GetParams().(*sdk.CallToolParamsRaw)
			if p == nil {
				return nil, errors.New("tools/call without params")
			}
			var args any
			if len(p.Arguments) > 0 {
				args = p.Arguments
			}
			res, err := g.call(ctx, g.scope(hdr), p.Name, args, hdr)
			var te *ToolError
			if errors.As(err, &te) {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: te.Message}
			}
			return res, err
		}
		return next(ctx, method, req)
	}
}

// serverTools is one server's listing.
type serverTools struct {
	srv   *config.MCPServer
	tools []*sdk.Tool
	err   error
}

// ServersHeader is LiteLLM's x-mcp-servers: the servers (names or
// aliases, comma-separated) a request to /mcp is about. The paths
// /mcp/{names} and /{name}/mcp set it (Route).
const ServersHeader = "X-Mcp-Servers"

// scope is the servers a request is about: those ServersHeader names, else all.
func (g *Gateway) scope(hdr http.Header) []*config.MCPServer {
	v, named := "", false
	if vs := hdr.Values(ServersHeader); len(vs) > 0 {
		v, named = strings.Join(vs, ","), true
	}
	var out []*config.MCPServer
	for i := range g.servers {
		s := &g.servers[i]
		if !named || listed(v, s.Name) || listed(v, s.Prefix()) {
			out = append(out, s)
		}
	}
	return out
}

// listed reports whether the comma-separated list names name.
func listed(list, name string) bool {
	for n := range strings.SplitSeq(list, ",") {
		if strings.EqualFold(strings.TrimSpace(n), name) {
			return true
		}
	}
	return false
}

// Route is the server names an MCP path selects: /mcp (none: all), /mcp/{a,b}[/…]
// and /{name}/mcp[/…] for a configured server's name or alias. ok is false for
// any other path.
func (g *Gateway) Route(path string) (names string, ok bool) {
	p := strings.TrimRight(path, "/")
	if p == "/mcp" {
		return "", true
	}
	if rest, found := strings.CutPrefix(p, "/mcp/"); found {
		names, _, _ = strings.Cut(rest, "/")
		return names, names != ""
	}
	name, rest, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if rest != "mcp" && !strings.HasPrefix(rest, "mcp/") {
		return "", false
	}
	for i := range g.servers {
		if g.servers[i].Name == name || g.servers[i].Prefix() == name {
			return name, true
		}
	}
	return "", false
}

// listAll lists the tools of the servers in scope, at once; a server that
// fails is logged and left out, as LiteLLM does.
func (g *Gateway) listAll(ctx context.Context, scope []*config.MCPServer, hdr http.Header) []serverTools {
	out := make([]serverTools, len(scope))
	var wg sync.WaitGroup
	for i := range scope {
		out[i].srv = scope[i]
		wg.Add(1)
		go func(st *serverTools) {
			defer wg.Done()
			st.tools, st.err = g.list(ctx, st.srv, hdr)
			if st.err != nil {
				g.log.Warn("mcp: listing a server's tools failed", "server", st.srv.Name, "error", st.err.Error())
			}
		}(&out[i])
	}
	wg.Wait()
	return out
}

// list is one server's tools that its allowed_tools and disallowed_tools let through.
func (g *Gateway) list(ctx context.Context, s *config.MCPServer, hdr http.Header) ([]*sdk.Tool, error) {
	cs, err := g.connect(ctx, s, hdr)
	if err != nil {
		return nil, err
	}
	defer cs.Close()
	var tools []*sdk.Tool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		if allowed(s, t.Name) {
			tools = append(tools, t)
		}
		if len(tools) >= maxTools {
			break
		}
	}
	return tools, nil
}

// allowed applies allowed_tools (when set) and disallowed_tools; an entry
// may name the tool as the upstream does or with the server's prefix.
func allowed(s *config.MCPServer, name string) bool {
	full := s.Prefix() + s.Separator + name
	has := func(list []string) bool { return slices.Contains(list, name) || slices.Contains(list, full) }
	if len(s.AllowedTools) > 0 && !has(s.AllowedTools) {
		return false
	}
	return !has(s.DisallowedTools)
}

// ToolError is a tools/call that names no tool the caller may call.
type ToolError struct {
	Status  int
	Message string
}

func (e *ToolError) Error() string { return e.Message }

// Call calls a tool of any server: name is prefixed ({server}-{tool}) or,
// with serverID or when one server's listing has it, the upstream's own name.
func (g *Gateway) Call(ctx context.Context, name, serverID string, args any, hdr http.Header) (*sdk.CallToolResult, error) {
	if serverID != "" {
		s := g.server(serverID)
		if s == nil {
			return nil, &ToolError{Status: 404, Message: "MCP server " + serverID + " not found"}
		}
		return g.call(ctx, []*config.MCPServer{s}, name, args, hdr)
	}
	return g.call(ctx, g.all(), name, args, hdr)
}

func (g *Gateway) all() []*config.MCPServer {
	out := make([]*config.MCPServer, len(g.servers))
	for i := range g.servers {
		out[i] = &g.servers[i]
	}
	return out
}

// call calls a tool of a server in scope.
func (g *Gateway) call(ctx context.Context, scope []*config.MCPServer, name string, args any, hdr http.Header) (*sdk.CallToolResult, error) {
	s, tool, err := g.resolve(ctx, scope, name, hdr)
	if err != nil {
		return nil, err
	}
	if !allowed(s, tool) {
		return nil, &ToolError{Status: 403, Message: fmt.Sprintf("Tool %s is not allowed for server %s", tool, s.Name)}
	}
	cs, err := g.connect(ctx, s, hdr)
	if err != nil {
		return nil, err
	}
	defer cs.Close()
	return cs.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: args})
}

// resolve finds the server in scope of a tool name and the upstream's name
// for it: a server's prefix, else the only server in scope, else the first
// server that lists the name (LiteLLM's tool_name_to_mcp_server_name_mapping).
func (g *Gateway) resolve(ctx context.Context, scope []*config.MCPServer, name string, hdr http.Header) (*config.MCPServer, string, error) {
	for _, s := range scope {
		if tool, ok := strings.CutPrefix(name, s.Prefix()+s.Separator); ok && tool != "" {
			return s, tool, nil
		}
	}
	if len(scope) == 1 {
		return scope[0], name, nil
	}
	for _, st := range g.listAll(ctx, scope, hdr) {
		for _, t := range st.tools {
			if t.Name == name {
				return st.srv, name, nil
			}
		}
	}
	return nil, "", &ToolError{Status: 404, Message: "Tool " + name + " not found"}
}

// server is the server whose name or alias is id.
func (g *Gateway) server(id string) *config.MCPServer {
	for i := range g.servers {
		if g.servers[i].Name == id || g.servers[i].Prefix() == id {
			return &g.servers[i]
		}
	}
	return nil
}

// connect opens a session to the upstream server.
func (g *Gateway) connect(ctx context.Context, s *config.MCPServer, hdr http.Header) (*sdk.ClientSession, error) {
	hc := &http.Client{Transport: &headerTransport{base: g.base, set: upstreamHeaders(s, hdr)}}
	var t sdk.Transport
	if s.Transport == "sse" {
		t = &sdk.SSEClientTransport{Endpoint: s.URL, HTTPClient: hc}
	} else {
		t = &sdk.StreamableClientTransport{Endpoint: s.URL, HTTPClient: hc, DisableStandaloneSSE: true}
	}
	c := sdk.NewClient(&sdk.Implementation{Name: "litellm", Version: g.version}, nil)
	cs, err := c.Connect(ctx, t, nil)
	if err != nil {
		return nil, fmt.Errorf("connecting to MCP server %s: %w", s.Name, err)
	}
	return cs, nil
}

// upstreamHeaders are the headers every request to s carries: the client's
// extra_headers, then static_headers, then the credential of auth_type.
func upstreamHeaders(s *config.MCPServer, client http.Header) http.Header {
	h := http.Header{}
	for _, name := range s.ExtraHeaders {
		if v := client.Values(name); len(v) > 0 {
			h[http.CanonicalHeaderKey(name)] = v
		}
	}
	for k, v := range s.StaticHeaders {
		h.Set(k, v)
	}
	// LiteLLM's x-mcp-{server}-{header}: the client's own header for this
	// server (its credential, say), over the configured one.
	own := clientServerHeaders(s, client)
	if s.AuthValue != "" && own.Get("Authorization") == "" && own.Get("X-Api-Key") == "" {
		setAuth(h, s)
	}
	for k, v := range own {
		h[k] = v
	}
	return h
}

// clientServerHeaders are the client's x-mcp-{name or alias}-{header}
// headers for s, by header name.
func clientServerHeaders(s *config.MCPServer, client http.Header) http.Header {
	var out http.Header
	for k, v := range client {
		lk := strings.ToLower(k)
		rest, ok := strings.CutPrefix(lk, "x-mcp-")
		if !ok {
			continue
		}
		for _, n := range []string{strings.ToLower(s.Prefix()), strings.ToLower(s.Name)} {
			if name, ok := strings.CutPrefix(rest, n+"-"); ok && name != "" {
				if out == nil {
					out = http.Header{}
				}
				out[http.CanonicalHeaderKey(name)] = v
				break
			}
		}
	}
	return out
}

// setAuth sets the header of s's auth_type.
func setAuth(h http.Header, s *config.MCPServer) {
	switch s.AuthType {
	case "api_key":
		h.Set("X-API-Key", s.AuthValue)
	case "bearer_token":
		h.Set("Authorization", "Bearer "+s.AuthValue)
	case "basic":
		v := s.AuthValue
		if strings.Contains(v, ":") {
			// LiteLLM takes username:password and encodes it; a value
			// without ':' is taken as already encoded (older configs).
			v = base64.StdEncoding.EncodeToString([]byte(v))
		}
		h.Set("Authorization", "Basic "+v)
	case "token":
		h.Set("Authorization", "token "+s.AuthValue)
	case "authorization":
		h.Set("Authorization", s.AuthValue)
	}
}

// headerTransport sets headers on every request.
type headerTransport struct {
	base http.RoundTripper
	set  http.Header
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(t.set) > 0 {
		r = r.Clone(r.Context())
		for k, v := range t.set {
			r.Header[k] = v
		}
	}
	return t.base.RoundTrip(r)
}

// CallTimeout bounds one MCP request's work upstream (the request filter's
// message timeout allows 60 s at most).
const CallTimeout = 55 * time.Second
