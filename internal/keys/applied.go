package keys

import "strings"

// WaitsForModule reports whether a management POST must wait until the
// module has applied the key table holding its change before it answers
// (docs/architecture.md D57, D63). A route that only creates — a key, team,
// user or budget — restricts nothing the module serves: a new key is not in
// the module's table until the next push, and the module hands a key it does
// not hold to ext_proc, which knows it at once. A new customer is different:
// the module checks every body's `user` itself (D73), so /customer/new (which
// may create it blocked) waits. Every other change (block, delete, update,
// membership, regenerate) may restrict what the module serves and waits.
func WaitsForModule(path string) bool {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	switch path {
	case "/key/generate", "/team/new", "/user/new", "/budget/new":
		return false
	}
	return true
}
