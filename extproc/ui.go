package extproc

import (
	"os"
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/translator"
	"github.com/llmgate/llmgate/ui"
)

// uiReply serves the admin UI at /ui (package ui, D152): GET or HEAD, no
// key (the page holds no data; the API it calls checks the key), an
// unknown file LiteLLM's 404 in OpenAI error JSON, a matching
// If-None-Match a 304. DISABLE_ADMIN_UI=true (LiteLLM's switch) turns it
// off: every /ui path is then a 404.
func uiReply(h map[string]string) *extprocv3.ProcessingResponse {
	if strings.EqualFold(os.Getenv("DISABLE_ADMIN_UI"), "true") {
		return errorReply(&translator.Error{Status: 404, Type: "not_found_error",
			Message: "Admin UI is disabled (DISABLE_ADMIN_UI=true): " + h[":path"]}, nil)
	}
	method := h[":method"]
	if method != "GET" && method != "HEAD" {
		return errorReply(&translator.Error{Status: 405, Type: "invalid_request_error", Code: "405",
			Message: "Method Not Allowed: " + method + " (this route accepts GET)"}, map[string]string{"allow": "GET, HEAD"})
	}
	a := ui.Lookup(h[":path"])
	if a == nil {
		return errorReply(&translator.Error{Status: 404, Type: "not_found_error", Message: "Route not found: " + h[":path"]}, nil)
	}
	hdrs := ui.Headers(a)
	if h["if-none-match"] == a.ETag {
		return immediate(304, a.ContentType, nil, hdrs, "llmgate_ui")
	}
	body := a.Body
	if method == "HEAD" {
		body = nil
	}
	return immediate(200, a.ContentType, body, hdrs, "llmgate_ui")
}
