package config

import (
	"testing"
	"time"
)

// TestPassThroughEndpointsConfig: entries read with their defaults and
// os.environ/ inside a header value; a gateway route, a bad target and a
// duplicate path are errors at file:line; auth: true kept for the request
// filter.
func TestPassThroughEndpointsConfig(t *testing.T) {
	const head = "model_list: []\ngeneral_settings:\n  pass_through_endpoints:\n"
	cfg := mustParse(t, head+`    - path: /v1/rerank/
      target: https://api.cohere.com/v1/rerank
      headers: {Authorization: "bearer os.environ/K", Accept: application/json}
    - path: /secure
      target: https://x.example/y
      auth: true
`, env("K", "s3cret"))
	eps := cfg.General.PassThroughEndpoints
	if len(eps) != 2 || eps[0].Auth || !eps[1].Auth || cfg.General.PassThroughAuth("/secure?x=1") != &eps[1] || cfg.General.PassThroughAuth("/v1/rerank") != nil {
		t.Fatalf("endpoints %+v", eps)
	}
	ep := eps[0]
	if ep.Path != "/v1/rerank" || ep.Target.String() != "https://api.cohere.com/v1/rerank" || ep.Timeout != 600*time.Second ||
		len(ep.Headers) != 2 || ep.Headers[0] != [2]string{"accept", "application/json"} || ep.Headers[1] != [2]string{"authorization", "bearer s3cret"} {
		t.Errorf("endpoint %+v", ep)
	}
	if len(cfg.Warnings) != 1 {
		t.Errorf("warnings %v", cfg.Warnings)
	}
	for _, tc := range []struct{ yml, want string }{
		{"    - {path: /r, target: http://x/, headers: {A: bearer os.environ/UNSET}}\n", "environment variable UNSET is not set"},
		{"    - {path: /v1/chat/completions, target: http://x/}\n", "is one of the gateway's own routes"},
		{"    - {path: rerank, target: http://x/}\n", "must be a path starting with /"},
		{"    - {path: /r, target: ftp://x/}\n", "must be an http(s) URL"},
	} {
		le := parseErr(t, head+tc.yml, nil)
		if !hasDiag(le.Diagnostics, "test.yaml:4") || !hasDiag(le.Diagnostics, tc.want) {
			t.Errorf("%q: %v, want %q at line 4", tc.yml, le.Diagnostics, tc.want)
		}
	}
	le := parseErr(t, head+"    - {path: /r, target: http://x/}\n    - {path: /r/, target: http://y/}\n", nil)
	if !hasDiag(le.Diagnostics, "test.yaml:5") || !hasDiag(le.Diagnostics, "/r is already a pass-through endpoint") {
		t.Errorf("a duplicate path: %v", le.Diagnostics)
	}
}
