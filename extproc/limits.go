package extproc

import (
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/llmgate/llmgate/translator"
	"github.com/llmgate/llmgate/xds"
)

// headerLimitError refuses a request whose headers leave no room for the
// headers Envoy and the gateway add on the way to the provider (xds: the
// client's header limits); nil when they fit.
func headerLimitError(hs *corev3.HeaderMap) *translator.Error {
	n, size := 0, 0
	for _, kv := range hs.GetHeaders() {
		n++
		size += len(kv.GetKey()) + len(kv.GetValue()) + len(kv.GetRawValue())
	}
	if n <= xds.ClientMaxHeaders && size <= xds.ClientMaxHeaderBytes {
		return nil
	}
	return &translator.Error{Status: 431, Type: "invalid_request_error", Code: "431",
		Message: "Request header fields too large: at most " + strconv.Itoa(xds.ClientMaxHeaders) + " headers and " +
			strconv.Itoa(xds.ClientMaxHeaderBytes>>10) + " KiB are accepted"}
}

// methodNotAllowed answers a completion, chat or embeddings route called with
// another method than POST (LiteLLM: 405), before it can go upstream.
func methodNotAllowed(method string) *translator.Error {
	return &translator.Error{Status: 405, Type: "invalid_request_error", Code: "405",
		Message: "Method Not Allowed: " + method + " (this route accepts POST)"}
}
