package xds

import (
	"testing"

	commonmatchingv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/matching/v3"
	networkinputsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/matching/common_inputs/network/v3"
	metadatamatcherv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/matching/input_matchers/metadata/v3"

	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/internal/contract"
)

// TestFastPathCompositeMatcher (D70): the attempt filter's composite picks
// the full attempt filter by a lookup of llmgate.ctx "fast" (not true, an
// absent tag included), no CEL expression, and the response-only one on a
// 4xx/5xx status: a fast try that succeeds runs no attempt filter.
func TestFastPathCompositeMatcher(t *testing.T) {
	o := Options{ExtProcSocket: "/tmp/x.sock", FastPath: true, RequestModule: &filter.Config{Marker: "m", TableSocket: "/tmp/t.sock"}}
	fs, err := moduleUpstreamFilters(o)
	if err != nil {
		t.Fatal(err)
	}
	var ewm commonmatchingv3.ExtensionWithMatcher
	if err := fs[1].GetTypedConfig().UnmarshalTo(&ewm); err != nil {
		t.Fatal(err)
	}
	ms := ewm.GetXdsMatcher().GetMatcherList().GetMatchers()
	if len(ms) != 2 {
		t.Fatalf("%d matchers, want 2", len(ms))
	}
	first := ms[0].GetPredicate().GetSinglePredicate()
	var in networkinputsv3.DynamicMetadataInput
	if err := first.GetInput().GetTypedConfig().UnmarshalTo(&in); err != nil {
		t.Fatalf("the fast tag's input is %s, want a dynamic metadata lookup: %v", first.GetInput().GetTypedConfig().GetTypeUrl(), err)
	}
	if in.Filter != contract.ContextMetadataNamespace || len(in.Path) != 1 || in.Path[0].GetKey() != FastPathMetadataKey {
		t.Errorf("the fast tag's input reads %s %v", in.Filter, in.Path)
	}
	var md metadatamatcherv3.Metadata
	if err := first.GetCustomMatch().GetTypedConfig().UnmarshalTo(&md); err != nil {
		t.Fatal(err)
	}
	if !md.Invert || !md.GetValue().GetBoolMatch() {
		t.Errorf("the fast tag's matcher is %v, want not true", &md)
	}
	if ms[0].GetOnMatch().GetAction().GetName() != "full_attempt" || ms[1].GetOnMatch().GetAction().GetName() != "error_attempt" {
		t.Errorf("actions %s, %s", ms[0].GetOnMatch().GetAction().GetName(), ms[1].GetOnMatch().GetAction().GetName())
	}
	if re := ms[1].GetPredicate().GetSinglePredicate().GetValueMatch().GetSafeRegex().GetRegex(); re != "^[45][0-9][0-9]$" {
		t.Errorf("the error attempt matches status %q", re)
	}
}
