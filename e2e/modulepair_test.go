package e2e

import (
	"net/http"
	"sort"
	"strings"
	"testing"
)

// The module-against-ext_proc comparisons (TestModuleResponseSide,
// TestModuleTranslated) share their set-up: two gateways on one config and
// one provider, and an answer's headers written so that the two gateways'
// answers compare.

// moduleAndExtProc starts the module's gateway and an ext_proc one on cfg and
// waits until the module applied its config.
func moduleAndExtProc(t *testing.T, cfg string) (mod, ext *Gateway) {
	mod = startGatewayArgs(t, cfg, moduleArgs)
	ext = startGatewayArgs(t, cfg, []string{"--request-filter=extproc"})
	waitLog(t, mod, "llmgate module: config")
	return mod, ext
}

// headersVary are the answer headers that differ per request.
var headersVary = map[string]bool{"date": true, "x-litellm-call-id": true, "x-litellm-response-duration-ms": true,
	"x-litellm-overhead-duration-ms": true, "x-envoy-upstream-service-time": true}

// comparableHeaders is an answer's headers sorted, one per line, those that
// vary per request as "(varies)" (an empty x-litellm-* one is an error), and
// an internal header that reached the client an error.
func comparableHeaders(t *testing.T, h http.Header) string {
	t.Helper()
	var ks []string
	for k, vs := range h {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "x-llmgate") || strings.HasPrefix(k, "x-envoy-attempt") {
			t.Errorf("internal header %s reached the client", k)
		}
		if headersVary[k] {
			if strings.HasPrefix(k, "x-litellm") && vs[0] == "" {
				t.Errorf("%s is empty", k)
			}
			ks = append(ks, k+": (varies)")
			continue
		}
		ks = append(ks, k+": "+strings.Join(vs, ","))
	}
	sort.Strings(ks)
	return strings.Join(ks, "\n")
}
