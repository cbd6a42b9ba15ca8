package keys

import "testing"

// Creations answer without waiting for the module; every change that may
// restrict a key the module serves waits (D63).
func TestWaitsForModule(t *testing.T) {
	for path, want := range map[string]bool{
		"/key/generate": false, "/team/new": false, "/user/new": false, "/customer/new": true, "/end_user/new": true,
		"/budget/new": false, "/key/generate?x=1": false,
		"/key/block": true, "/key/delete": true, "/key/update": true, "/key/regenerate": true, "/team/update": true,
		"/team/member_add": true, "/team/member_update": true, "/user/update": true, "/budget/update": true, "/customer/block": true,
	} {
		if got := WaitsForModule(path); got != want {
			t.Errorf("%s: waits %v, want %v", path, got, want)
		}
	}
}
