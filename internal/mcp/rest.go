package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// LiteLLM's REST routes (rest_endpoints.py): the tools under their
// upstream names, with the server in mcp_info.
const (
	RESTList = "/mcp-rest/tools/list"
	RESTCall = "/mcp-rest/tools/call"
)

// restTool is one entry of /mcp-rest/tools/list.
type restTool struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	InputSchema any            `json:"inputSchema"`
	MCPInfo     map[string]any `json:"mcp_info"`
}

// ListREST is /mcp-rest/tools/list's answer: every server's tools, or
// serverID's (its name or alias). LiteLLM answers 200 with an error field,
// never an error status.
func (g *Gateway) ListREST(ctx context.Context, serverID string, hdr http.Header) map[string]any {
	var lists []serverTools
	if serverID != "" {
		s := g.server(serverID)
		if s == nil {
			return map[string]any{"tools": []restTool{}, "error": "server_not_found", "message": "Server with id " + serverID + " not found"}
		}
		tools, err := g.list(ctx, s, hdr)
		if err != nil {
			return map[string]any{"tools": []restTool{}, "error": "server_error",
				"message": "Failed to get tools from server " + s.Name + ": " + err.Error()}
		}
		lists = []serverTools{{srv: s, tools: tools}}
	} else {
		lists = g.listAll(ctx, g.all(), hdr)
	}
	out := []restTool{}
	var errs []string
	for _, st := range lists {
		if st.err != nil {
			errs = append(errs, st.srv.Name+": "+st.err.Error())
			continue
		}
		info := map[string]any{}
		for k, v := range st.srv.Info {
			info[k] = v
		}
		if _, ok := info["server_name"]; !ok {
			info["server_name"] = st.srv.Name
		}
		if _, ok := info["description"]; !ok && st.srv.Description != "" {
			info["description"] = st.srv.Description
		}
		for _, t := range st.tools {
			out = append(out, restTool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema, MCPInfo: info})
		}
	}
	if len(errs) > 0 && len(out) == 0 {
		return map[string]any{"tools": out, "error": "partial_failure", "message": "Failed to get tools from servers: " + strings.Join(errs, "; ")}
	}
	return map[string]any{"tools": out, "error": nil, "message": "Successfully retrieved tools"}
}

// restCallBody is /mcp-rest/tools/call's body.
type restCallBody struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	ServerID  string          `json:"server_id"`
}

// CallREST is /mcp-rest/tools/call: the tool's CallToolResult as JSON, or
// a status and message for an error.
func (g *Gateway) CallREST(ctx context.Context, body []byte, hdr http.Header) ([]byte, *ToolError) {
	var b restCallBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, &ToolError{Status: 400, Message: "Invalid JSON body: " + err.Error()}
	}
	if b.Name == "" {
		return nil, &ToolError{Status: 400, Message: "name is required"}
	}
	var args any
	if len(b.Arguments) > 0 && string(b.Arguments) != "null" {
		args = b.Arguments
	}
	res, err := g.Call(ctx, b.Name, b.ServerID, args, hdr)
	if err != nil {
		var te *ToolError
		if errors.As(err, &te) {
			return nil, te
		}
		return nil, &ToolError{Status: 500, Message: "An unexpected error occurred: " + err.Error()}
	}
	out, err := json.Marshal(res)
	if err != nil {
		return nil, &ToolError{Status: 500, Message: "An unexpected error occurred: " + err.Error()}
	}
	return out, nil
}
