package extproc

import (
	"math"
	"strconv"
	"strings"
)

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
		v, err := strconv.ParseFloat(strings.TrimSpace(h[name]), 64)
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
	if n, err := strconv.Atoi(strings.TrimSpace(h["x-litellm-num-retries"])); err == nil {
		f.NumRetries = &n
	}
}
