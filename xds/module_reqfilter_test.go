package xds

import (
	"testing"

	commonmatchingv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/matching/v3"
	compositev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/composite/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"

	"github.com/llmgate/llmgate/dynmod/filter"
)

// TestModuleRequestFilterBuiltOnHandOn (D93): in module mode the listener's
// ext_proc request filter is the action of a composite, built only for a
// request without the module's marker — not a filter built for every request
// and then skipped (its construction was ≈ 2.5 % of Envoy's CPU on the
// typical config).
func TestModuleRequestFilterBuiltOnHandOn(t *testing.T) {
	cfg := parseTest(t, testConfig)
	o := Options{ExtProcSocket: "/run/x.sock", RequestModule: &filter.Config{Marker: "m-123"}}
	_, hcm, _ := buildHCM(t, cfg, o)
	found := false
	for _, f := range hcm.HttpFilters {
		if f.Name != "envoy.filters.http.ext_proc" {
			continue
		}
		found = true
		var ewm commonmatchingv3.ExtensionWithMatcher
		if err := f.GetTypedConfig().UnmarshalTo(&ewm); err != nil {
			t.Fatalf("the request filter is not behind a matcher: %v", err)
		}
		var comp compositev3.Composite
		if err := ewm.GetExtensionConfig().GetTypedConfig().UnmarshalTo(&comp); err != nil {
			t.Fatalf("the request filter is %s, not a composite: %v", ewm.GetExtensionConfig().GetTypedConfig().GetTypeUrl(), err)
		}
		ms := ewm.GetXdsMatcher().GetMatcherList().GetMatchers()
		if len(ms) != 1 || ewm.GetXdsMatcher().GetOnNoMatch() != nil {
			t.Fatalf("matchers %v", ewm.GetXdsMatcher())
		}
		not := ms[0].GetPredicate().GetNotMatcher().GetSinglePredicate()
		if not.GetValueMatch().GetExact() != "m-123" {
			t.Errorf("the filter is not built on the marker's absence: %v", ms[0].GetPredicate())
		}
		var ea compositev3.ExecuteFilterAction
		if err := ms[0].GetOnMatch().GetAction().GetTypedConfig().UnmarshalTo(&ea); err != nil {
			t.Fatal(err)
		}
		var ep extprocv3.ExternalProcessor
		if err := ea.GetTypedConfig().GetTypedConfig().UnmarshalTo(&ep); err != nil || ep.GetGrpcService() == nil {
			t.Errorf("the action is not the request filter: %v", err)
		}
	}
	if !found {
		t.Fatal("no request filter")
	}
}
