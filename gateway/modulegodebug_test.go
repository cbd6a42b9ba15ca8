package gateway

import "testing"

// TestModuleGODEBUG (D70): Envoy gets cgocheck=0 added to the caller's
// GODEBUG, and a cgocheck the caller set is kept (the e2e tests keep the
// check on that way).
func TestModuleGODEBUG(t *testing.T) {
	for _, tc := range []struct{ caller, want string }{
		{"", "GODEBUG=cgocheck=0"},
		{"madvdontneed=1", "GODEBUG=madvdontneed=1,cgocheck=0"},
		{"cgocheck=1", "GODEBUG=cgocheck=1"},
		{"madvdontneed=1, cgocheck=1", "GODEBUG=madvdontneed=1, cgocheck=1"},
	} {
		if got := withCgocheckOff(tc.caller); got != tc.want {
			t.Errorf("GODEBUG %q → %q, want %q", tc.caller, got, tc.want)
		}
	}
	t.Setenv("GODEBUG", "")
	if got := moduleGODEBUG(); got != "GODEBUG=cgocheck=0" {
		t.Errorf("no GODEBUG → %q", got)
	}
}
