// Package mcp is LiteLLM's MCP gateway (D140): the servers of the config's
// mcp_servers behind one MCP server. The gateway speaks MCP with the
// official Go SDK on both sides: toward the client a stateless streamable
// HTTP server (JSON answers, so that one request gets one answer, which is
// what the request filter can give as its immediate response), toward each
// upstream a client over streamable HTTP or SSE with the server's
// credentials (auth_type, static_headers) and the client headers it names
// (extra_headers).
//
// tools/list lists every server's tools, each name prefixed with the
// server's name or alias and MCP_TOOL_PREFIX_SEPARATOR ("-"), as LiteLLM
// names them; tools/call finds the server by that prefix and calls the
// upstream tool by its own name. LiteLLM's REST routes /mcp-rest/tools/list
// and /mcp-rest/tools/call serve the same tools under their own names.
//
// A request opens a session to each upstream server it needs and closes it
// at its end: nothing is kept between requests. The caller (extproc)
// checks the client's key before it hands a request here.
//
// It imports config and the SDK only.
package mcp
