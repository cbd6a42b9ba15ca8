package extproc

import (
	"fmt"
	"strconv"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/llmgate/llmgate/internal/contract"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
)

// The retry decision of the attempt filter (docs/architecture.md D3): after
// an error body is read, the attempt filter adds x-llmgate-retry (Envoy's
// retriable header) when retry_policy (else num_retries) allows another try
// of this error class; 401/403 and 404 are never retried on the same
// deployment; when the next attempt of the plan is a fallback group the
// filter always moves on. These tests call the attempt filter's body step
// with a provider error and read the header it sets.

// retryConfig: group g has deployments a and b, group f (a fallback of g)
// has c. Every retry_policy key has its own count, and num_retries differs
// from all of them, so a class that reads another class's key is caught.
const retryConfig = `
model_list:
  - model_name: g
    litellm_params: {model: openai/gpt-4o, api_key: k, api_base: "http://127.0.0.1:1/a"}
    model_info: {id: a}
  - model_name: g
    litellm_params: {model: openai/gpt-4o, api_key: k, api_base: "http://127.0.0.1:1/b"}
    model_info: {id: b}
  - model_name: f
    litellm_params: {model: openai/gpt-4o-mini, api_key: k, api_base: "http://127.0.0.1:1/c"}
    model_info: {id: c}
router_settings:
  num_retries: 6
  fallbacks: [{g: [f]}]
  retry_policy:
    AuthenticationErrorRetries: 1
    TimeoutErrorRetries: 2
    RateLimitErrorRetries: 3
    ContentPolicyViolationErrorRetries: 4
    InternalServerErrorRetries: 5
    BadRequestErrorRetries: 1
    NotFoundErrorRetries: 2
`

// retryConfigDefault has no retry_policy: every class follows num_retries,
// except 404, which LiteLLM does not retry unless retry_policy says so.
const retryConfigDefault = `
model_list:
  - model_name: g
    litellm_params: {model: openai/gpt-4o, api_key: k, api_base: "http://127.0.0.1:1/a"}
    model_info: {id: a}
  - model_name: g
    litellm_params: {model: openai/gpt-4o, api_key: k, api_base: "http://127.0.0.1:1/b"}
    model_info: {id: b}
router_settings:
  num_retries: 2
`

// providerError is an OpenAI-compatible error response of one class.
type providerError struct {
	name   string
	status int
	body   string
	class  translator.ErrorClass
}

var providerErrors = map[string]providerError{
	"auth":           {"401", 401, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`, translator.ErrAuthentication},
	"forbidden":      {"403", 403, `{"error":{"message":"forbidden","type":"permission_error"}}`, translator.ErrAuthentication},
	"timeout":        {"408", 408, `{"error":{"message":"request timed out"}}`, translator.ErrTimeout},
	"ratelimit":      {"429", 429, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, translator.ErrRateLimit},
	"contentpolicy":  {"content policy", 400, `{"error":{"message":"Your request was rejected by our safety system","type":"invalid_request_error","code":"content_policy_violation"}}`, translator.ErrContentPolicy},
	"internal":       {"500", 500, `{"error":{"message":"The server had an error","type":"server_error"}}`, translator.ErrInternal},
	"unavailable":    {"503", 503, `upstream connect error`, translator.ErrInternal},
	"badrequest":     {"400", 400, `{"error":{"message":"Invalid value for temperature","type":"invalid_request_error","param":"temperature"}}`, translator.ErrBadRequest},
	"contextwindow":  {"context window", 400, `{"error":{"message":"This model's maximum context length is 128000 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}`, translator.ErrContextWindow},
	"notfound":       {"404", 404, `{"error":{"message":"The model does not exist","type":"invalid_request_error","code":"model_not_found"}}`, translator.ErrNotFound},
	"notfoundplain":  {"404 plain", 404, `Not Found`, translator.ErrNotFound},
	"internalplain":  {"502 plain", 502, `<html>bad gateway</html>`, translator.ErrInternal},
	"ratelimitplain": {"429 plain", 429, `slow down`, translator.ErrRateLimit},
}

// planKind is what follows the failing attempt in the plan.
type planKind int

const (
	nextOther    planKind = iota // the group's other deployment
	nextSame                     // the same deployment again
	nextFallback                 // the first deployment of a fallback group
	nextNone                     // the failing attempt is the plan's last
)

// retryTry builds the attempt filter's view of try number retry of a plan
// whose attempts alternate as kind says, and of the provider's answer.
func retryTry(t *testing.T, st *State, kind planKind, retry int, status int, respHdr map[string]string) *try {
	t.Helper()
	var atts []*llmgatev1.Attempt
	for i := 0; i <= retry; i++ {
		id := "a"
		if kind == nextOther && i%2 == 1 {
			id = "b"
		}
		atts = append(atts, &llmgatev1.Attempt{DeploymentId: id, ModelGroup: "g", Model: "gpt-4o", Retry: int32(i)})
	}
	self := atts[retry]
	switch kind {
	case nextOther:
		id := "b"
		if self.DeploymentId == "b" {
			id = "a"
		}
		atts = append(atts, &llmgatev1.Attempt{DeploymentId: id, ModelGroup: "g", Model: "gpt-4o", Retry: int32(retry + 1)})
	case nextSame:
		atts = append(atts, &llmgatev1.Attempt{DeploymentId: self.DeploymentId, ModelGroup: "g", Model: "gpt-4o", Retry: int32(retry + 1)})
	case nextFallback:
		atts = append(atts, &llmgatev1.Attempt{DeploymentId: "c", ModelGroup: "f", Model: "gpt-4o-mini", FallbackIndex: 1})
	}
	d, ok := st.deployment(self.DeploymentId)
	if !ok {
		t.Fatalf("no deployment %s", self.DeploymentId)
	}
	if respHdr == nil {
		respHdr = map[string]string{}
	}
	respHdr[":status"] = strconv.Itoa(status)
	return &try{
		st:      st,
		rc:      &llmgatev1.RequestContext{CallId: "call-1", ModelGroup: "g", Attempts: atts},
		d:       d,
		a:       self,
		index:   retry,
		tr:      translator.For("openai"),
		pass:    true,
		status:  status,
		respHdr: respHdr,
	}
}

func headerValue(set []*corev3.HeaderValueOption, name string) (string, bool) {
	for _, h := range set {
		if h.GetHeader().GetKey() == name {
			v := h.GetHeader().GetValue()
			if v == "" {
				v = string(h.GetHeader().GetRawValue())
			}
			return v, true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// decide runs the attempt filter's error path and reports whether Envoy is
// told to retry, with the header changes it made.
func decide(t *testing.T, tr *try, body string) (retry bool, class translator.ErrorClass, set []*corev3.HeaderValueOption, remove []string) {
	t.Helper()
	var o router.Outcome
	out, set, remove := tr.finalBody([]byte(body), &o)
	if _, ok := headerValue(set, contract.RetryHeader); ok {
		retry = true
	}
	if len(out) == 0 || out[0] != '{' {
		t.Fatalf("client body is not OpenAI error JSON: %q", out)
	}
	return retry, o.Class, set, remove
}

func TestRetryPolicyPerClass(t *testing.T) {
	st := stateWith(t, retryConfig)
	// The count retry_policy gives each class in retryConfig.
	counts := map[string]int{
		"auth": 1, "forbidden": 1, "timeout": 2, "ratelimit": 3, "ratelimitplain": 3, "contentpolicy": 4,
		"internal": 5, "unavailable": 5, "internalplain": 5, "badrequest": 1, "contextwindow": 1,
		"notfound": 2, "notfoundplain": 2,
	}
	for name, n := range counts {
		pe := providerErrors[name]
		// Onto the other deployment of the group: retried while this try's
		// retry number is below the class's count, never at the count.
		for retry := 0; retry <= n; retry++ {
			want := retry < n
			t.Run(fmt.Sprintf("%s/retry %d of %d", pe.name, retry, n), func(t *testing.T) {
				tr := retryTry(t, st, nextOther, retry, pe.status, nil)
				got, class, _, _ := decide(t, tr, pe.body)
				if class != pe.class {
					t.Fatalf("class %d, want %d", class, pe.class)
				}
				if got != want {
					t.Fatalf("retried %v, want %v (retry_policy count %d, this is retry %d)", got, want, n, retry)
				}
			})
		}
	}
}

func TestRetryNumRetriesDefault(t *testing.T) {
	st := stateWith(t, retryConfigDefault)
	for _, name := range []string{"auth", "timeout", "ratelimit", "contentpolicy", "internal", "badrequest", "contextwindow", "notfound"} {
		pe := providerErrors[name]
		n := 2
		if pe.class == translator.ErrNotFound {
			n = 0 // 404 is not retried unless retry_policy says so
		}
		for retry := 0; retry <= 2; retry++ {
			want := retry < n
			t.Run(fmt.Sprintf("%s/retry %d", pe.name, retry), func(t *testing.T) {
				got, _, _, _ := decide(t, retryTry(t, st, nextOther, retry, pe.status, nil), pe.body)
				if got != want {
					t.Fatalf("retried %v, want %v", got, want)
				}
			})
		}
	}
}

func TestRetryNextAttemptRules(t *testing.T) {
	st := stateWith(t, retryConfig)
	tests := []struct {
		name  string
		err   string
		kind  planKind
		retry int
		want  bool
	}{
		// 401/403 and 404: the same deployment would answer the same; its
		// retry_policy count (1 and 2) applies only to other deployments.
		{"401 not on the same deployment", "auth", nextSame, 0, false},
		{"403 not on the same deployment", "forbidden", nextSame, 0, false},
		{"401 onto another deployment", "auth", nextOther, 0, true},
		{"404 not on the same deployment", "notfound", nextSame, 0, false},
		{"404 plain not on the same deployment", "notfoundplain", nextSame, 1, false},
		{"404 onto another deployment", "notfound", nextOther, 0, true},
		// Other classes may retry the same deployment.
		{"429 on the same deployment", "ratelimit", nextSame, 0, true},
		{"500 on the same deployment", "internal", nextSame, 3, true},
		{"408 on the same deployment", "timeout", nextSame, 1, true},
		{"408 spent on the same deployment", "timeout", nextSame, 2, false},
		// The next attempt is a fallback group: always move on, whatever the
		// class's count says (the group's retries are spent or not allowed).
		{"400 spent, fallback next", "badrequest", nextFallback, 1, true},
		{"401 spent, fallback next", "auth", nextFallback, 1, true},
		{"404 spent, fallback next", "notfound", nextFallback, 2, true},
		{"500 spent, fallback next", "internal", nextFallback, 5, true},
		{"429 spent, fallback next", "ratelimit", nextFallback, 3, true},
		// The last attempt of the plan: nothing to retry onto.
		{"500 on the last attempt", "internal", nextNone, 0, false},
		{"429 on the last attempt", "ratelimit", nextNone, 0, false},
		{"401 on the last attempt", "auth", nextNone, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pe := providerErrors[tc.err]
			got, _, _, _ := decide(t, retryTry(t, st, tc.kind, tc.retry, pe.status, nil), pe.body)
			if got != tc.want {
				t.Fatalf("retried %v, want %v", got, tc.want)
			}
		})
	}
}

// The wait before a retry: none onto another deployment (the provider's
// Retry-After is removed), the provider's Retry-After on the same one, else
// LiteLLM's backoff in whole seconds.
func TestRetryWait(t *testing.T) {
	st := stateWith(t, retryConfig)
	pe := providerErrors["ratelimit"]

	tr := retryTry(t, st, nextOther, 0, pe.status, map[string]string{"retry-after": "7"})
	retry, _, set, remove := decide(t, tr, pe.body)
	if !retry || !contains(remove, "retry-after") {
		t.Fatalf("onto another deployment: retry %v, removed %v (want retry-after removed)", retry, remove)
	}
	if _, ok := headerValue(set, "retry-after"); ok {
		t.Fatal("onto another deployment: a retry-after was set")
	}

	tr = retryTry(t, st, nextSame, 0, pe.status, map[string]string{"retry-after": "7"})
	retry, _, set, remove = decide(t, tr, pe.body)
	if _, set2 := headerValue(set, "retry-after"); !retry || set2 || contains(remove, "retry-after") {
		t.Fatalf("same deployment with the provider's Retry-After: retry %v, set %v, removed %v (want it kept)", retry, set, remove)
	}

	for retryN, want := range map[int]string{0: "1", 1: "1", 2: "2"} {
		tr = retryTry(t, st, nextSame, retryN, pe.status, nil)
		retry, _, set, _ = decide(t, tr, pe.body)
		if v, _ := headerValue(set, "retry-after"); !retry || v != want {
			t.Fatalf("same deployment, retry %d, no Retry-After: retry %v, retry-after %q, want %q", retryN, retry, v, want)
		}
	}
}

// An error response without a body is classified by its status alone, at
// the response headers; Envoy retries it only when the attempt filter marks
// it (a 5xx included).
func TestRetryHeadersOnlyError(t *testing.T) {
	st := stateWith(t, retryConfig)
	for _, tc := range []struct {
		status, retry int
		want          bool
	}{
		{503, 4, true}, {503, 5, false}, {429, 2, true}, {429, 3, false}, {404, 1, true}, {404, 2, false},
	} {
		tr := retryTry(t, st, nextOther, tc.retry, tc.status, nil)
		_, resp := tr.responseHeaders(map[string]string{":status": strconv.Itoa(tc.status)}, true)
		_, got := headerValue(resp.GetResponseHeaders().GetResponse().GetHeaderMutation().GetSetHeaders(), contract.RetryHeader)
		if got != tc.want {
			t.Errorf("%d without a body at retry %d: retried %v, want %v", tc.status, tc.retry, got, tc.want)
		}
	}
}
