package extproc

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/internal/mcp"
	"github.com/llmgate/llmgate/translator"
)

// LiteLLM's MCP gateway (D140, internal/mcp): /mcp speaks MCP (streamable
// HTTP, stateless, JSON answers); /mcp-rest/tools/list and
// /mcp-rest/tools/call are LiteLLM's REST routes. Every one needs the
// master key or a virtual key, as LiteLLM's MCP auth does.

const mcpPath = "/mcp"

// isMCPRoute reports whether path is one of the MCP gateway's routes: the
// REST routes, /mcp, /mcp/{servers} and /{server}/mcp (names is then the
// servers the path selects, as LiteLLM's x-mcp-servers).
func (st *State) isMCPRoute(path string) (names string, ok bool) {
	p := strings.TrimRight(clientPath(path), "/")
	if !strings.Contains(p, "mcp") {
		return "", false
	}
	switch p {
	case mcp.RESTList, mcp.RESTCall:
		return "", true
	}
	return st.mcpGateway().Route(p)
}

// mcpGateway is the state's MCP gateway, made at its first use.
func (st *State) mcpGateway() *mcp.Gateway {
	st.mcpOnce.Do(func() { st.mcp = mcp.New(st.Cfg.MCPServers, nil, st.Version, st.log) })
	return st.mcp
}

// mcpRoute answers an MCP gateway route.
func (s *Server) mcpRoute(stream extprocv3.ExternalProcessor_ProcessServer, st *State, h map[string]string, names string, endOfStream bool) error {
	body, ok, err := managementBodyUnless(stream, endOfStream)
	if !ok {
		return err
	}
	if v := h["x-litellm-api-key"]; len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		// LiteLLM's MCP docs send `x-litellm-api-key: Bearer sk-…`.
		h["x-litellm-api-key"] = strings.TrimSpace(v[7:])
	}
	if _, e := st.authenticateRoute(h); e != nil {
		return stream.Send(errorReply(e, nil))
	}
	// An upstream tool may take longer than message_timeout allows.
	if err := stream.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(mcp.CallTimeout + 5*time.Second)}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), mcp.CallTimeout)
	defer cancel()
	hdr := http.Header{}
	for k, v := range h {
		if !strings.HasPrefix(k, ":") {
			hdr.Set(k, v)
		}
	}
	if names != "" {
		hdr.Set(mcp.ServersHeader, names) // the path's servers win over the header (LiteLLM)
	}
	g := st.mcpGateway()
	method := h[":method"]
	switch path := strings.TrimRight(clientPath(h[":path"]), "/"); path {
	case mcp.RESTList:
		if method != "GET" {
			return stream.Send(errorReply(methodNotAllowed(method), map[string]string{"allow": "GET"}))
		}
		b, _ := json.Marshal(g.ListREST(ctx, queryParam(h[":path"], "server_id"), hdr))
		return stream.Send(immediate(200, "application/json", b, nil, "llmgate_mcp"))
	case mcp.RESTCall:
		if method != "POST" {
			return stream.Send(errorReply(methodNotAllowed(method), map[string]string{"allow": "POST"}))
		}
		out, te := g.CallREST(ctx, body, hdr)
		if te != nil {
			typ := "invalid_request_error"
			switch te.Status {
			case 404:
				typ = "not_found_error"
			case 403:
				typ = "auth_error"
			case 500:
				typ = "internal_server_error"
			}
			return stream.Send(errorReply(&translator.Error{Status: te.Status, Type: typ, Message: te.Message}, nil))
		}
		return stream.Send(immediate(200, "application/json", out, nil, "llmgate_mcp"))
	}
	// /mcp: the SDK's streamable HTTP handler, in process.
	req, err := http.NewRequestWithContext(ctx, method, "http://llmgate"+mcpPath, bytes.NewReader(body))
	if err != nil {
		return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", err.Error(), ""), nil))
	}
	req.Header = hdr
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	ct := rec.Header().Get("Content-Type")
	if rec.Code >= 400 && !strings.HasPrefix(ct, "application/json") {
		// The SDK's plain-text refusals (a GET, a wrong Accept) in
		// LiteLLM's error JSON.
		e := &translator.Error{Status: rec.Code, Type: "invalid_request_error", Message: strings.TrimSpace(rec.Body.String())}
		var extra map[string]string
		if a := rec.Header().Get("Allow"); a != "" {
			extra = map[string]string{"allow": a}
		}
		return stream.Send(errorReply(e, extra))
	}
	if ct == "" {
		ct = "application/json"
	}
	return stream.Send(immediate(rec.Code, ct, rec.Body.Bytes(), nil, "llmgate_mcp"))
}
