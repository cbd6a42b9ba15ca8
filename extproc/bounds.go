package extproc

import (
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/translator"
)

// Client-set knobs and ambiguous bodies (issue 8, items 1 and 2). A request
// body is read in two ways: the request filter decodes the fields it needs
// with encoding/json (case-insensitive keys, last duplicate wins), while the
// pass-through splices `model` and deletes dropped params with sjson (first
// exact key), and the provider decodes the result with its own rules. A body
// whose keys repeat can therefore be routed on one value and run on another,
// on the operator's key. Such bodies are refused.

// checkKeys refuses a body whose top-level keys repeat (compared without
// case, after JSON unescaping) or that writes a key the gateway reads in
// another case or with escapes ("MODEL", "mod\u0065l"): the model the
// provider runs must be the one the gateway routed.
func checkKeys(body []byte) *translator.Error {
	var bad string
	seen := make(map[string]struct{}, 16)
	gjson.ParseBytes(body).ForEach(func(k, _ gjson.Result) bool {
		name := k.String()
		low := strings.ToLower(name)
		if _, dup := seen[low]; dup {
			bad = "duplicate key " + quoteKey(name)
			return false
		}
		seen[low] = struct{}{}
		if _, read := readKeys[low]; read && k.Raw != `"`+low+`"` {
			bad = "key " + quoteKey(name) + " must be written " + quoteKey(low)
			return false
		}
		return true
	})
	if bad == "" {
		return nil
	}
	return translator.NewError(400, "invalid_request_error", "Invalid request body: "+bad+" (each field at most once, in lower case)", "")
}

// readKeys are the top-level fields the gateway itself reads (requestFields
// and the pass-through's model splice).
var readKeys = map[string]struct{}{
	"model": {}, "stream": {}, "stream_options": {}, "fallbacks": {}, "num_retries": {}, "timeout": {},
	"max_fallbacks": {}, "context_window_fallbacks": {}, "content_policy_fallbacks": {},
}

func quoteKey(k string) string {
	if len(k) > 64 {
		k = k[:64] + "…"
	}
	return `"` + k + `"`
}

// maxClientRetries is the most num_retries a request may ask for when the
// config allows fewer: each retry is an entry of the plan Envoy holds.
const maxClientRetries = 10

// boundKnobs clamps what a client may set in the body to the config's limits:
// num_retries to max(config num_retries, 10) (LiteLLM lets a request raise
// it; without a bound one request could plan a million attempts), timeout to
// the longest timeout the config allows (timeout / stream_timeout, 600 s by
// default). The fallbacks list is cut to max_fallbacks by the router.
func (st *State) boundKnobs(f *requestFields) {
	if f.NumRetries != nil {
		limit := max(st.Router.Model().Routing.NumRetries, maxClientRetries)
		n := min(max(*f.NumRetries, 0), limit)
		f.NumRetries = &n
	}
	if f.Timeout != nil {
		limit := max(st.Router.Model().Routing.Timeout, st.Router.Model().Routing.StreamTimeout).Seconds()
		if limit <= 0 {
			limit = (600 * time.Second).Seconds()
		}
		if *f.Timeout > limit {
			v := limit
			f.Timeout = &v
		}
	}
}
