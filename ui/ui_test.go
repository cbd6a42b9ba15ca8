package ui

import (
	"strings"
	"testing"
)

// The paths the gateway answers under /ui and the files they name.
func TestLookup(t *testing.T) {
	for p, want := range map[string]string{"/ui": "index.html", "/ui/": "index.html", "/ui/?x=1": "index.html",
		"/ui/index.html": "index.html", "/ui/app.js": "app.js", "/ui/app.css": "app.css"} {
		if a := Lookup(p); a == nil || a != assets[want] {
			t.Errorf("Lookup(%q) = %v, want %s", p, a, want)
		}
	}
	for _, p := range []string{"/ui/x", "/ui/app.js/", "/ui//app.js", "/ui/static/app.js", "/ui/../ui/app.js", "/ui/doc.go"} {
		if a := Lookup(p); a != nil {
			t.Errorf("Lookup(%q) = %s, want nil", p, a.ContentType)
		}
	}
	for p, want := range map[string]bool{"/ui": true, "/ui/": true, "/ui/a": true, "/ui?k=v": true, "/uix": false, "/v1/ui": false, "/": false} {
		if Match(p) != want {
			t.Errorf("Match(%q) = %v", p, !want)
		}
	}
	if len(Names()) != 3 {
		t.Errorf("files %v, want the page, its script and stylesheet", Names())
	}
	for _, a := range assets {
		if !strings.HasSuffix(a.ContentType, "; charset=utf-8") || len(a.ETag) != 18 {
			t.Errorf("asset %s %s", a.ContentType, a.ETag)
		}
	}
}
