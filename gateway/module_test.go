package gateway

import (
	"io"
	"strings"
	"testing"
)

// TestABIWatch: Envoy's word on the module's ABI is read from its log, in
// whatever pieces the log arrives; a mismatch (Envoy only warns) is an error.
func TestABIWatch(t *testing.T) {
	const matched = "[2026-11-28 13:29:00.100][7][info][dynamic_modules] [source/extensions/dynamic_modules/dynamic_modules.cc:80] Dynamic module ABI version v0.2.0 matched.\n"
	const deprecated = "[2026-11-28 13:29:00.100][7][warning][dynamic_modules] [source/extensions/dynamic_modules/dynamic_modules.cc:84] Dynamic module ABI version v0.1.9 is deprecated. Please recompile the module against the SDK with the exact Envoy version used by the main program.\n"
	for _, tc := range []struct {
		log     string
		wantErr string
	}{
		{"[info] other line\n" + matched, ""},
		{deprecated, "v0.1.9 is deprecated"},
	} {
		var sb strings.Builder
		a := newABIWatch(&sb)
		for i := 0; i < len(tc.log); i += 7 { // split writes
			_, _ = io.WriteString(a, tc.log[i:min(i+7, len(tc.log))])
		}
		err := a.wait(make(chan struct{}))
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("log %q: err %v, want %q", tc.log, err, tc.wantErr)
		}
		if sb.String() != tc.log {
			t.Errorf("log not passed through: %q", sb.String())
		}
	}
}
