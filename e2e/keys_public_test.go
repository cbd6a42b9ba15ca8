package e2e

import (
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// general_settings.public_routes (D90), through Envoy on both request
// filters: a listed LLM route (by a "*" prefix) is served without a key (by
// the module in module mode), an unlisted one still needs it, a listed
// key-management route still needs the master key, and allowed_ips still
// applies to a public route, as in LiteLLM.
func TestKeyPublicRoutes(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			start := func(settings string) *Gateway {
				return startGatewayArgs(t, keysConfig(fake.URL(), "")+settings, mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			}
			g := start("  public_routes: [\"/v1/chat/*\", \"/key/generate\"]\n")
			before := requestFilterStreams(t, g)
			if st, _, b := post(t, g.URL+"/v1/chat/completions", "", chatBody("gpt-x", "no key")); st != 200 {
				t.Fatalf("a public route without a key: %d %s", st, b)
			}
			if n := requestFilterStreams(t, g) - before; mode.name == "module" && n != 0 {
				t.Errorf("a public request opened %d request-filter streams: not served by the module", n)
			}
			st, _, b := post(t, g.URL+"/chat/completions", "", chatBody("gpt-x", "not listed"))
			wantError(t, "an unlisted route without a key", st, b, 401, "auth_error", "Authentication Error, No api key passed in.")
			st, _, b = post(t, g.URL+"/key/generate", "", `{}`)
			wantError(t, "/key/generate listed, without a key", st, b, 401, "auth_error", "Authentication Error, No api key passed in.")

			g = start("  public_routes: [\"/v1/chat/completions\"]\n  allowed_ips: [10.1.2.3]\n")
			if st, _, b := post(t, g.URL+"/v1/chat/completions", "", chatBody("gpt-x", "not allowed")); st != 403 {
				t.Fatalf("a public route from an address not in allowed_ips: %d %s", st, b)
			}
		})
	}
}
