package extproc

import (
	"fmt"
	"testing"
)

// TestOther4xxAreRetriedLikeLiteLLM pins D3 (docs/architecture.md): LiteLLM's
// router retries every error its retry gate does not exclude (it excludes 404,
// a 401 in a group of one, and context-window/content-policy errors with a
// matching fallback list), so 400, 409, 418 and 422 are retried num_retries
// times onto the group's other deployment; 404 is not.
func TestOther4xxAreRetriedLikeLiteLLM(t *testing.T) {
	st := stateWith(t, retryConfigDefault) // num_retries: 2, no retry_policy
	for _, status := range []int{400, 409, 418, 422, 404} {
		body := fmt.Sprintf(`{"error":{"message":"status %d from the provider","type":"invalid_request_error"}}`, status)
		for retry := 0; retry <= 2; retry++ {
			want := status != 404 && retry < 2
			tr := retryTry(t, st, nextOther, retry, status, nil)
			if got, _, _, _ := decide(t, tr, body); got != want {
				t.Errorf("%d on try %d of num_retries 2: retried %v, want %v", status, retry, got, want)
			}
		}
	}
}
