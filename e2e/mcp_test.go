package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// fakeMCP is an upstream MCP server made with the SDK's server side: its
// tools answer from their arguments; every request's headers are kept.
type fakeMCP struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func (f *fakeMCP) headers() []http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

type addIn struct {
	A int `json:"a"`
	B int `json:"b"`
}

type textIn struct {
	Text string `json:"text"`
}

// newFakeMCP serves tools over streamable HTTP (sse false) or SSE; a
// request without want (a header name and value) is refused 401.
func newFakeMCP(t *testing.T, sse bool, tools []string, wantHeader, wantValue string) *fakeMCP {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: "fake", Version: "1"}, nil)
	for _, name := range tools {
		switch name {
		case "add":
			sdk.AddTool(s, &sdk.Tool{Name: "add", Description: "adds a and b"}, func(_ context.Context, _ *sdk.CallToolRequest, in addIn) (*sdk.CallToolResult, any, error) {
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: fmt.Sprint(in.A + in.B)}}}, nil, nil
			})
		default:
			sdk.AddTool(s, &sdk.Tool{Name: name, Description: "answers " + name}, func(_ context.Context, _ *sdk.CallToolRequest, in textIn) (*sdk.CallToolResult, any, error) {
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: name + ":" + in.Text}}}, nil, nil
			})
		}
	}
	var h http.Handler
	if sse {
		h = sdk.NewSSEHandler(func(*http.Request) *sdk.Server { return s }, nil)
	} else {
		h = sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, &sdk.StreamableHTTPOptions{Stateless: true})
	}
	f := &fakeMCP{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, r.Header.Clone())
		f.mu.Unlock()
		if r.Header.Get(wantHeader) != wantValue {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// headerRT adds headers to a client's requests.
type headerRT map[string]string

func (h headerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// mcpSession connects the SDK's client to the gateway's /mcp with headers.
func mcpSession(ctx context.Context, url string, h headerRT) (*sdk.ClientSession, error) {
	return mcpSessionAt(ctx, url+"/mcp", h)
}

func mcpSessionAt(ctx context.Context, endpoint string, h headerRT) (*sdk.ClientSession, error) {
	c := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, nil)
	return c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: endpoint, HTTPClient: &http.Client{Transport: h}, MaxRetries: -1}, nil)
}

// toolNames lists a session's tool names, sorted.
func toolNames(ctx context.Context, t *testing.T, cs *sdk.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

func toolText(t *testing.T, r *sdk.CallToolResult) string {
	t.Helper()
	if r == nil || len(r.Content) != 1 {
		t.Fatalf("tool result: %+v", r)
	}
	tc, ok := r.Content[0].(*sdk.TextContent)
	if !ok {
		t.Fatalf("tool result content: %T", r.Content[0])
	}
	return tc.Text
}

// TestMCPGateway: mcp_servers behind /mcp through the real Envoy. Two fake
// upstream MCP servers (the SDK's server side): "math" over streamable
// HTTP with a bearer token from os.environ/, "notes" over SSE with an api
// key, a static header, a copied client header and a disallowed tool. The
// SDK's client lists the prefixed tools and calls one of each server; a
// wrong key is refused; LiteLLM's REST routes list the tools under their
// own names and call them; a virtual key is let in until it is blocked.
func TestMCPGateway(t *testing.T) {
	math := newFakeMCP(t, false, []string{"add", "echo"}, "Authorization", "Bearer math-secret")
	notes := newFakeMCP(t, true, []string{"read", "delete"}, "X-API-Key", "notes-key")
	cfg := fmt.Sprintf(`
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_base: http://127.0.0.1:1/v1, api_key: k}
general_settings:
  master_key: %s
mcp_servers:
  math:
    url: %s/mcp
    transport: http
    auth_type: bearer_token
    auth_value: os.environ/MCP_MATH_TOKEN
    description: sums
  notes:
    url: %s/sse
    transport: sse
    auth_type: api_key
    auth_value: notes-key
    disallowed_tools: [delete]
    static_headers: {X-Tenant: t1}
    extra_headers: [X-Trace-Me]
`, master, math.srv.URL, notes.srv.URL)
	g := startGateway(t, cfg, "MCP_MATH_TOKEN=math-secret")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("the SDK's client lists the prefixed tools and calls them", func(t *testing.T) {
		cs, err := mcpSession(ctx, g.URL, headerRT{"x-litellm-api-key": "Bearer " + master, "X-Trace-Me": "abc"})
		if err != nil {
			t.Fatalf("connect: %v\n%s", err, g.Logs())
		}
		defer cs.Close()
		if names, want := toolNames(ctx, t, cs), []string{"math-add", "math-echo", "notes-read"}; !slices.Equal(names, want) {
			t.Errorf("tools %v, want %v", names, want)
		}
		r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "math-add", Arguments: map[string]any{"a": 2, "b": 3}})
		if err != nil {
			t.Fatalf("tools/call math-add: %v", err)
		}
		if got := toolText(t, r); got != "5" {
			t.Errorf("math-add: %q, want 5", got)
		}
		r, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "notes-read", Arguments: map[string]any{"text": "hi"}})
		if err != nil {
			t.Fatalf("tools/call notes-read: %v", err)
		}
		if got := toolText(t, r); got != "read:hi" {
			t.Errorf("notes-read: %q", got)
		}
		if _, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "notes-delete", Arguments: map[string]any{"text": "x"}}); err == nil || !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("a disallowed tool was called: %v", err)
		}
		var sawTenant, sawTrace, sawKey bool
		for _, h := range notes.headers() {
			sawTenant = sawTenant || h.Get("X-Tenant") == "t1"
			sawTrace = sawTrace || h.Get("X-Trace-Me") == "abc"
			sawKey = sawKey || h.Get("x-litellm-api-key") != ""
		}
		if !sawTenant || !sawTrace || sawKey {
			t.Errorf("notes' upstream headers: static %v, extra %v, the client's key %v", sawTenant, sawTrace, sawKey)
		}
	})

	t.Run("servers chosen by path or x-mcp-servers; one server's tools unprefixed", func(t *testing.T) {
		key := headerRT{"x-litellm-api-key": master}
		for _, tc := range []struct {
			endpoint string
			h        headerRT
			want     []string
		}{
			{g.URL + "/math/mcp", key, []string{"add", "echo"}},
			{g.URL + "/mcp/notes", key, []string{"read"}},
			{g.URL + "/mcp/math,notes", key, []string{"math-add", "math-echo", "notes-read"}},
			{g.URL + "/mcp", headerRT{"x-litellm-api-key": master, "x-mcp-servers": "math"}, []string{"add", "echo"}},
			// The path wins over the header, as in LiteLLM.
			{g.URL + "/notes/mcp", headerRT{"x-litellm-api-key": master, "x-mcp-servers": "math"}, []string{"read"}},
			// x-mcp-{server}-{header}: the client's credential for math, here a wrong one.
			{g.URL + "/mcp", headerRT{"x-litellm-api-key": master, "x-mcp-math-authorization": "Bearer wrong"}, []string{"notes-read"}},
		} {
			cs, err := mcpSessionAt(ctx, tc.endpoint, tc.h)
			if err != nil {
				t.Errorf("%s %v: connect: %v", tc.endpoint, tc.h, err)
				continue
			}
			if names := toolNames(ctx, t, cs); !slices.Equal(names, tc.want) {
				t.Errorf("%s %v: tools %v, want %v", tc.endpoint, tc.h, names, tc.want)
			}
			if tc.want[0] == "add" {
				r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "add", Arguments: map[string]any{"a": 3, "b": 4}})
				if err != nil || toolText(t, r) != "7" {
					t.Errorf("%s: add: %v", tc.endpoint, err)
				}
			}
			cs.Close()
		}
	})

	t.Run("a wrong key is refused", func(t *testing.T) {
		if cs, err := mcpSession(ctx, g.URL, headerRT{"x-litellm-api-key": "sk-wrong"}); err == nil {
			cs.Close()
			t.Fatal("a wrong key connected")
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("accept", "application/json, text/event-stream")
		req.Header.Set("authorization", "Bearer sk-wrong")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Error struct {
				Message string `json:"message"`
				Code    string `json:"code"`
			} `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 401 || !strings.Contains(e.Error.Message, "Invalid proxy server token") {
			t.Errorf("wrong key: %d %+v %v", resp.StatusCode, e, err)
		}
	})

	t.Run("REST routes", func(t *testing.T) {
		code, _, body := do(t, "GET", g.URL+"/mcp-rest/tools/list", master, "")
		var list struct {
			Tools []struct {
				Name    string         `json:"name"`
				MCPInfo map[string]any `json:"mcp_info"`
			} `json:"tools"`
			Error   any    `json:"error"`
			Message string `json:"message"`
		}
		if code != 200 || json.Unmarshal(body, &list) != nil || list.Error != nil {
			t.Fatalf("/mcp-rest/tools/list: %d %s", code, body)
		}
		var got []string
		for _, tl := range list.Tools {
			got = append(got, fmt.Sprint(tl.MCPInfo["server_name"], "/", tl.Name))
		}
		slices.Sort(got)
		if want := []string{"math/add", "math/echo", "notes/read"}; !slices.Equal(got, want) {
			t.Errorf("REST tools %v, want %v (%s)", got, want, body)
		}
		code, _, body = do(t, "GET", g.URL+"/mcp-rest/tools/list?server_id=notes", master, "")
		if code != 200 || !strings.Contains(string(body), `"name":"read"`) || strings.Contains(string(body), `"add"`) {
			t.Errorf("/mcp-rest/tools/list?server_id=notes: %d %s", code, body)
		}
		code, _, body = do(t, "POST", g.URL+"/mcp-rest/tools/call", master, `{"name":"add","arguments":{"a":40,"b":2}}`)
		if code != 200 || !strings.Contains(string(body), `"text":"42"`) {
			t.Errorf("/mcp-rest/tools/call add: %d %s", code, body)
		}
		code, _, body = do(t, "POST", g.URL+"/mcp-rest/tools/call", master, `{"name":"math-echo","arguments":{"text":"yo"}}`)
		if code != 200 || !strings.Contains(string(body), `"text":"echo:yo"`) {
			t.Errorf("/mcp-rest/tools/call math-echo: %d %s", code, body)
		}
		code, _, body = do(t, "POST", g.URL+"/mcp-rest/tools/call", master, `{"name":"nope","arguments":{}}`)
		if code != 404 || !strings.Contains(string(body), `"error"`) {
			t.Errorf("/mcp-rest/tools/call of no tool: %d %s", code, body)
		}
		code, _, body = do(t, "GET", g.URL+"/mcp-rest/tools/list", "sk-wrong", "")
		if code != 401 || !strings.Contains(string(body), "Invalid proxy server token") {
			t.Errorf("/mcp-rest/tools/list with a wrong key: %d %s", code, body)
		}
	})

	t.Run("a virtual key", func(t *testing.T) {
		code, _, body := do(t, "POST", g.URL+"/key/generate", master, `{}`)
		var k struct {
			Key string `json:"key"`
		}
		if code != 200 || json.Unmarshal(body, &k) != nil || k.Key == "" {
			t.Fatalf("/key/generate: %d %s", code, body)
		}
		cs, err := mcpSession(ctx, g.URL, headerRT{"authorization": "Bearer " + k.Key})
		if err != nil {
			t.Fatalf("a virtual key: %v", err)
		}
		defer cs.Close()
		r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "math-add", Arguments: map[string]any{"a": 1, "b": 1}})
		if err != nil || toolText(t, r) != "2" {
			t.Errorf("math-add with a virtual key: %v", err)
		}
		if code, _, body := do(t, "POST", g.URL+"/key/block", master, `{"key":"`+k.Key+`"}`); code != 200 {
			t.Fatalf("/key/block: %d %s", code, body)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, _, body := do(t, "POST", g.URL+"/mcp-rest/tools/call", k.Key, `{"name":"math-add","arguments":{"a":1,"b":1}}`)
			if code == 401 && strings.Contains(string(body), "Key is blocked") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a blocked key's tool call: %d %s", code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if cs, err := mcpSession(ctx, g.URL, headerRT{"authorization": "Bearer " + k.Key}); err == nil {
			cs.Close()
			t.Error("a blocked key connected")
		}
	})
}
