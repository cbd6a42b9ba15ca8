package xds

import (
	"testing"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

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
		var h hcmv3.HttpConnectionManager
		if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&h); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range h.GetHttpFilters() {
			out = append(out, f.GetName())
		}
		return out
	}
	has := func(ns []string, n string) bool {
		for _, x := range ns {
			if x == n {
				return true
			}
		}
		return false
	}
	o := Options{Port: 4000, ExtProcSocket: "/tmp/x.sock", FastPath: true}
	if ns := names(o); !has(ns, "envoy.filters.http.lua") {
		t.Errorf("ext_proc mode: no response Lua filter: %v", ns)
	}
	o.RequestModule = &filter.Config{Marker: "m", TableSocket: "/tmp/t.sock"}
	if ns := names(o); has(ns, "envoy.filters.http.lua") || !has(ns, "llmgate.request_module") {
		t.Errorf("module mode: %v", ns)
	}
}
