package bench

import (
	"strings"
	"testing"

	"github.com/llmgate/llmgate/dynmod/filter"
)

// TestPlainModuleBootstrap: plain Envoy with the module where module mode
// puts it (the listener's first filter; the router's upstream filter before
// the codec), no table socket, no ext_proc.
func TestPlainModuleBootstrap(t *testing.T) {
	b, err := PlainModuleBootstrap(10001, "127.0.0.1", 20002)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Join(strings.Fields(string(b)), "")
	req := strings.Index(s, `"filterName":"`+filter.FilterName+`"`)
	up := strings.Index(s, `"filterName":"`+filter.UpstreamFilterName+`"`)
	codec := strings.Index(s, "envoy.filters.http.upstream_codec")
	if req < 0 || up < 0 || codec < 0 || !(req < up && up < codec) {
		t.Errorf("want the listener module, then the router's upstream module before the codec: %s", s)
	}
	if strings.Contains(s, "ext_proc") || strings.Contains(s, "table_socket") {
		t.Errorf("the floor has no ext_proc and no table: %s", s)
	}
	for _, want := range []string{`"portValue":10001`, `"portValue":20002`} {
		if !strings.Contains(s, want) {
			t.Errorf("bootstrap lacks %s", want)
		}
	}
}
