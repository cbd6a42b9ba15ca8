package router

import (
	"testing"

	"github.com/llmgate/llmgate/translator"
)

// TestModelGroupRetryPolicy: a group's model_group_retry_policy entry
// replaces the router's retry_policy for that group (LiteLLM's
// get_num_retries_from_retry_policy: the group's policy, else the router's;
// not merged), other groups keep the router's.
func TestModelGroupRetryPolicy(t *testing.T) {
	cfg := baseConfig(dep("a", "g", "openai/a"), dep("b", "other", "openai/b"))
	cfg.Router.NumRetries = 7
	cfg.Router.RetryPolicy = map[string]int{"InternalServerErrorRetries": 0, "RateLimitErrorRetries": 1}
	cfg.Router.ModelGroupRetryPolicy = map[string]map[string]int{"g": {"InternalServerErrorRetries": 3}}
	r := newTestRouter(cfg, newClock(), 1)
	tests := []struct {
		group  string
		class  translator.ErrorClass
		n      int
		ruleOK bool
	}{
		{"g", translator.ErrInternal, 3, true},
		{"g", translator.ErrRateLimit, 7, false}, // the group's policy does not name it: num_retries
		{"g", translator.ErrNotFound, 0, true},
		{"other", translator.ErrInternal, 0, true},
		{"other", translator.ErrRateLimit, 1, true},
		{"other", translator.ErrTimeout, 7, false},
	}
	for _, tc := range tests {
		if got := r.RetriesForGroup(tc.group, tc.class); got != tc.n {
			t.Errorf("%s, class %d: RetriesForGroup %d, want %d", tc.group, tc.class, got, tc.n)
		}
		n, ok := r.RetryRule(tc.group, tc.class)
		if ok != tc.ruleOK || ok && n != tc.n {
			t.Errorf("%s, class %d: RetryRule %d %v, want %d %v", tc.group, tc.class, n, ok, tc.n, tc.ruleOK)
		}
	}
}
