package extproc

import (
	"maps"
	"math"
	"strconv"
	"strings"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// maxRetriesHeader is LiteLLM's response header naming the retries a request
// was allowed (request, x-litellm-num-retries, deployment or router
// num_retries). The attempt filter also reads it from the request context:
// it is the retry limit of an error class no retry rule covers.
const maxRetriesHeader = "x-litellm-max-retries"

// withMaxRetries adds maxRetriesHeader to the response headers a request's
// answers carry: the most retries the plan gives a group (each group of the
// plan gets the same num_retries). Unless writable, the map may be a shared
// one (the header alone): read it only. owned: h is the caller's own map
// (router.Plan.UsageHeaders), written into.
func withMaxRetries(h map[string]string, plan []*llmgatev1.Attempt, writable, owned bool) map[string]string {
	n := int32(0)
	for _, a := range plan {
		n = max(n, a.Retry)
	}
	if len(h) == 0 && !writable && int(n) < len(maxRetriesOnly) {
		return maxRetriesOnly[n] // (no map per request, D93)
	}
	if owned && h != nil {
		// The plan's own map (router.Plan.UsageHeaders): written into, not
		// copied (D116).
		h[maxRetriesHeader] = strconv.Itoa(int(n))
		return h
	}
	out := make(map[string]string, len(h)+1)
	maps.Copy(out, h)
	out[maxRetriesHeader] = strconv.Itoa(int(n))
	return out
}

// maxRetriesOnly[n] is the response headers of a plan of n retries whose
// group sets no rpm/tpm: maxRetriesHeader alone. Read only.
var maxRetriesOnly = func() (m [16]map[string]string) {
	for n := range m {
		m[n] = map[string]string{maxRetriesHeader: strconv.Itoa(n)}
	}
	return m
}()

// planRetries is the retry limit maxRetriesHeader carries in the context.
func planRetries(rc *llmgatev1.RequestContext) (int, bool) {
	n, err := strconv.Atoi(rc.GetResponseHeaders()[maxRetriesHeader])
	return n, err == nil
}

// headerKnobs applies the request headers LiteLLM reads as per-request
// router settings; they win over the same fields in the body, as in LiteLLM:
//   - x-litellm-timeout: the request timeout in seconds (as body "timeout");
//   - x-litellm-stream-timeout: for a stream, the timeout in seconds (LiteLLM:
//     to the first chunk; Envoy's per-try timeout), winning over the timeout;
//   - x-litellm-num-retries: the request's retries (as body "num_retries").
//
// A value that is not a finite number is ignored. The results are bounded
// with the body's knobs (boundKnobs) afterwards. LiteLLM's other x-litellm-*
// request headers (tags, spend-logs metadata, message redaction, customer
// id) feed features llmgate does not have yet; none reaches a provider.
func headerKnobs(h map[string]string, f *requestFields) {
	seconds := func(name string) (float64, bool) {
		s := strings.TrimSpace(h[name])
		if s == "" {
			return 0, false // (ParseFloat's error, without allocating it)
		}
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil && !math.IsInf(v, 0) && !math.IsNaN(v)
	}
	if v, ok := seconds("x-litellm-timeout"); ok {
		f.Timeout = &v
	}
	if f.Stream {
		if v, ok := seconds("x-litellm-stream-timeout"); ok {
			f.Timeout = &v
		}
	}
	if s := strings.TrimSpace(h["x-litellm-num-retries"]); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			f.NumRetries = &n
		}
	}
}
