package filter

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// TestVectorsPassedUnchecked: no call of the module (package dynmod) into C passes the address of a Go
// array's element (&a[i]) as a typed pointer, but for the headers of a local
// reply, which hold Go pointers (pinned: cgo's check is wanted there). A
// vector Envoy fills (the request headers, the body views) is passed as
// char* (abi.go's llmgate_get_headers, llmgate_get_body_chunks, hooks.c's
// llmgate_request_body_views): with a dm_buf* or dm_hdr* argument cgo
// checks the whole array behind it element by element on every call
// (cgocheck=1, the default) — 27,000 instructions per call for the 256
// response views, ≈ 9 % of a typical request's instructions in Envoy
// (D165).
func TestVectorsPassedUnchecked(t *testing.T) {
	checked := map[string]bool{ // Go memory with Go pointers in it: the check stays
		"envoy_dynamic_module_callback_http_send_response":         true,
		"envoy_dynamic_module_callback_http_send_response_headers": true,
	}
	files, err := filepath.Glob("../*.go") // the module, package dynmod (its own tests cannot run outside Envoy: its init logs through Envoy)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := 0
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "C" {
				return true
			}
			seen++
			for _, a := range call.Args {
				u, ok := a.(*ast.UnaryExpr)
				if !ok || u.Op != token.AND {
					continue
				}
				if _, ok := u.X.(*ast.IndexExpr); ok && !checked[sel.Sel.Name] {
					t.Errorf("%s: C.%s gets &%s: cgo checks the whole array behind it on every call; pass it as *C.char",
						fset.Position(u.Pos()), sel.Sel.Name, types(u.X))
				}
			}
			return true
		})
	}
	if seen < 50 {
		t.Fatalf("only %d calls into C found: the scan is not reading the module's files", seen)
	}
}

func types(e ast.Expr) string {
	if ix, ok := e.(*ast.IndexExpr); ok {
		if id, ok := ix.X.(*ast.Ident); ok {
			return id.Name + "[…]"
		}
	}
	return "…"
}
