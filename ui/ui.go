package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is the path the UI is served under.
const Prefix = "/ui"

// CSP is the pages' Content-Security-Policy: the page's own script and
// stylesheet only, API calls to the same origin, never framed.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Asset is one file as served.
type Asset struct {
	ContentType string
	Body        []byte
	ETag        string
}

var assets = load()

// types are the content types of the files the UI holds.
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

func load() map[string]*Asset {
	entries, err := static.ReadDir("static")
	if err != nil {
		panic(err)
	}
	m := make(map[string]*Asset, len(entries))
	for _, e := range entries {
		ct, ok := types[path.Ext(e.Name())]
		if !ok || e.IsDir() {
			continue
		}
		b, err := static.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		m[e.Name()] = &Asset{ContentType: ct, Body: b, ETag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return m
}

// Match reports whether a request path (query included or not) is under
// /ui: /ui, /ui/ or /ui/<anything>.
func Match(rawPath string) bool {
	p, _, _ := strings.Cut(rawPath, "?")
	return p == Prefix || strings.HasPrefix(p, Prefix+"/")
}

// Lookup is the asset a /ui path names: the page for /ui, /ui/ and
// /ui/index.html, a file of the UI for /ui/<name>; nil for anything else.
func Lookup(rawPath string) *Asset {
	p, _, _ := strings.Cut(rawPath, "?")
	name := strings.TrimPrefix(strings.TrimPrefix(p, Prefix), "/")
	if name == "" {
		name = "index.html"
	}
	return assets[name]
}

// Headers are the headers every UI answer carries (with the asset's
// content type): revalidated on each load (the files are not fingerprinted,
// so a new binary's UI is seen at once; the ETag makes that a 304).
func Headers(a *Asset) map[string]string {
	return map[string]string{
		"cache-control":           "no-cache",
		"etag":                    a.ETag,
		"content-security-policy": CSP,
		"x-content-type-options":  "nosniff",
		"x-frame-options":         "DENY",
		"referrer-policy":         "no-referrer",
	}
}

// Names are the files the UI serves under /ui/ (tests).
func Names() []string {
	out := make([]string, 0, len(assets))
	for n := range assets {
		out = append(out, n)
	}
	return out
}
