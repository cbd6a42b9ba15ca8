package xds

import (
	"slices"
	"testing"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	dynmodfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/dynamic_modules/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/dynmod/filter"
)

// TestModuleListenerHasNoResponseLua (D54): in module mode the module's
// response hooks do the fast path's response side; the listener's Lua
// filter is there only without the module.
func TestModuleListenerHasNoResponseLua(t *testing.T) {
	names := func(o Options) []string {
		t.Helper()
		l, err := Listener(o)
		if err != nil {
			t.Fatal(err)
		}
		return httpFilterNames(listenerHCM(t, l))
	}
	has := slices.Contains[[]string]
	o := Options{Port: 4000, ExtProcSocket: "/tmp/x.sock", FastPath: true}
	if ns := names(o); !has(ns, "envoy.filters.http.lua") {
		t.Errorf("ext_proc mode: no response Lua filter: %v", ns)
	}
	o.RequestModule = &filter.Config{Marker: "m", TableSocket: "/tmp/t.sock"}
	if ns := names(o); has(ns, "envoy.filters.http.lua") || !has(ns, "llmgate.request_module") {
		t.Errorf("module mode: %v", ns)
	}
}

// TestModuleOutcomeLogConfig (D54): with the module's outcome records the
// HCM has no per-request outcome entry and the router logs only the tries
// that did not succeed (status >= 400, no response, any response flag);
// without an outcome socket the outcome log of D44 is unchanged.
func TestModuleOutcomeLogConfig(t *testing.T) {
	cfg := parseTest(t, testConfig)
	for _, sock := range []string{"", "/run/x.sock"} {
		o := Options{ExtProcSocket: "/run/x.sock", AccessLog: true, OutcomeLog: true, RequestModule: &filter.Config{Marker: "m", OutcomeSocket: sock}}
		_, hcm, rt := buildHCM(t, cfg, o)
		if len(rt.UpstreamLog) != 1 {
			t.Fatalf("%d upstream logs", len(rt.UpstreamLog))
		}
		f := rt.UpstreamLog[0].GetFilter()
		if sock == "" {
			if len(hcm.AccessLog) != 2 || f != nil {
				t.Errorf("no outcome socket: %d access logs, try filter %v", len(hcm.AccessLog), f)
			}
			continue
		}
		if len(hcm.AccessLog) != 1 || hcm.AccessLog[0].Name != "envoy.access_loggers.stdout" {
			t.Errorf("module outcomes: access logs %v", hcm.AccessLog)
		}
		or := f.GetOrFilter().GetFilters()
		if len(or) != 3 || or[0].GetStatusCodeFilter().GetComparison().GetValue().GetDefaultValue() != 400 ||
			or[0].GetStatusCodeFilter().GetComparison().GetOp() != accesslogv3.ComparisonFilter_GE ||
			or[1].GetStatusCodeFilter().GetComparison().GetOp() != accesslogv3.ComparisonFilter_LE || or[2].GetResponseFlagFilter() == nil {
			t.Errorf("try filter %v", f)
		}
	}
}

// TestModuleUsageMetadataConfig (D87): the module writes llmgate.usage only
// when something in Envoy reads it; with its own outcome records that is the
// JSON access log alone, so the filter config asks for it only then (and a
// caller's config is not changed).
func TestModuleUsageMetadataConfig(t *testing.T) {
	cfg := parseTest(t, testConfig)
	for _, c := range []struct {
		accessLog, json, want bool
	}{{false, false, false}, {true, false, false}, {true, true, true}} {
		mc := &filter.Config{Marker: "m", OutcomeSocket: "/run/x.sock"}
		o := Options{ExtProcSocket: "/run/x.sock", AccessLog: c.accessLog, JSONAccessLog: c.json, OutcomeLog: true, RequestModule: mc}
		_, hcm, _ := buildHCM(t, cfg, o)
		var got *filter.Config
		for _, f := range hcm.HttpFilters {
			if f.Name != "llmgate.request_module" {
				continue
			}
			var dm dynmodfilterv3.DynamicModuleFilter
			if err := f.GetTypedConfig().UnmarshalTo(&dm); err != nil {
				t.Fatal(err)
			}
			var s wrapperspb.StringValue
			if err := dm.FilterConfig.UnmarshalTo(&s); err != nil {
				t.Fatal(err)
			}
			fc, err := filter.ParseConfig(s.Value)
			if err != nil {
				t.Fatal(err)
			}
			got = &fc
		}
		if got == nil {
			t.Fatal("no module filter")
		}
		if got.UsageMetadata != c.want || got.OutcomeSocket != "/run/x.sock" {
			t.Errorf("access log %v, json %v: filter config %+v, want usage_metadata %v", c.accessLog, c.json, got, c.want)
		}
		// llmgate.ctx's model and path are left out only without an access
		// log, their only reader (D105).
		if got.NoAccessLog != !c.accessLog {
			t.Errorf("access log %v: filter config %+v, want no_access_log %v", c.accessLog, got, !c.accessLog)
		}
		if mc.UsageMetadata || mc.NoAccessLog {
			t.Error("the caller's filter config was changed")
		}
	}
}
