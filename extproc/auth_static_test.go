package extproc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// A timing difference in the key comparison is invisible to every behaviour
// test, so this test reads the source: the presented key is compared with
// the master key only through crypto/subtle, never with ==, != or a
// non-constant-time helper.

// sensitiveNames are the identifiers that hold a key or its digest in the
// key check.
var sensitiveNames = map[string]bool{"masterKey": true, "MasterKey": true, "key": true, "sum": true}

// nonConstantTime are comparison helpers that return early.
var nonConstantTime = map[string]bool{
	"bytes.Equal": true, "bytes.Compare": true, "strings.EqualFold": true, "strings.Compare": true,
	"reflect.DeepEqual": true, "slices.Equal": true,
}

func TestKeyComparisonIsConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var authenticate *ast.FuncDecl
	var subtleImport string
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		local := importName(f, "crypto/subtle")
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			if fn.Name.Name == "authenticate" {
				authenticate, subtleImport = fn, local
			}
			// Every function of auth.go, and any function elsewhere that
			// touches the master key.
			if name != "auth.go" && !mentions(fn.Body, map[string]bool{"masterKey": true, "MasterKey": true}) {
				continue
			}
			checked++
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.BinaryExpr:
					if x.Op != token.EQL && x.Op != token.NEQ {
						return true
					}
					if isConstantTimeCall(x.X, local) || isConstantTimeCall(x.Y, local) || isEmptyOrNil(x.X) || isEmptyOrNil(x.Y) {
						return true
					}
					if mentions(x.X, sensitiveNames) || mentions(x.Y, sensitiveNames) {
						t.Errorf("%s: %s compares a key with %s; use crypto/subtle", fset.Position(x.Pos()), fn.Name.Name, x.Op)
					}
				case *ast.CallExpr:
					if s := selectorName(x.Fun); nonConstantTime[s] {
						for _, a := range x.Args {
							if mentions(a, sensitiveNames) {
								t.Errorf("%s: %s compares a key with %s; use crypto/subtle", fset.Position(x.Pos()), fn.Name.Name, s)
							}
						}
					}
				case *ast.SwitchStmt:
					if x.Tag != nil && mentions(x.Tag, sensitiveNames) {
						t.Errorf("%s: %s switches on a key; use crypto/subtle", fset.Position(x.Pos()), fn.Name.Name)
					}
				}
				return true
			})
		}
	}
	if authenticate == nil {
		t.Fatal("no func authenticate in package extproc: update this test with the key check's new name")
	}
	if checked == 0 {
		t.Fatal("no function was checked")
	}
	// The master key check itself goes through subtle.ConstantTimeCompare
	// with the master key as an argument.
	found := false
	ast.Inspect(authenticate.Body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok && isConstantTimeCall(c, subtleImport) {
			for _, a := range c.Args {
				if mentions(a, map[string]bool{"masterKey": true}) {
					found = true
				}
			}
		}
		return true
	})
	if !found {
		t.Fatal("authenticate does not compare the master key with subtle.ConstantTimeCompare")
	}
}

// importName is the name a file uses for an import path ("" when not imported).
func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		if strings.Trim(imp.Path.Value, `"`) != path {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return path[strings.LastIndexByte(path, '/')+1:]
	}
	return ""
}

func isConstantTimeCall(e ast.Expr, subtleName string) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok || subtleName == "" {
		return false
	}
	return selectorName(c.Fun) == subtleName+".ConstantTimeCompare"
}

func isEmptyOrNil(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return x.Kind == token.STRING && (x.Value == `""` || x.Value == "``")
	case *ast.Ident:
		return x.Name == "nil"
	}
	return false
}

func selectorName(e ast.Expr) string {
	if s, ok := e.(*ast.SelectorExpr); ok {
		if id, ok := s.X.(*ast.Ident); ok {
			return id.Name + "." + s.Sel.Name
		}
	}
	return ""
}

// mentions reports whether an expression uses one of the names (as a
// variable or a field).
func mentions(n ast.Node, names map[string]bool) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && names[id.Name] {
			found = true
		}
		return !found
	})
	return found
}
