package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/ui"
)

// TestAdminUIServed (D152): through Envoy, on both request filters, /ui,
// /ui/ and /ui/index.html serve the page and /ui/<asset> each file the page
// names, byte for byte as embedded, with its content type, no-cache and an
// ETag (If-None-Match: 304), the strict CSP, nosniff and DENY, no key
// needed; the page has no inline script or style and names no other
// origin; an unknown /ui/x is a 404 and POST a 405, both OpenAI error JSON;
// no served file holds the master key or the provider's key.
// DISABLE_ADMIN_UI=True (LiteLLM's switch) makes every /ui path a 404.
func TestAdminUIServed(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, keysConfig(fake.URL(), ""), mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			page := ui.Lookup("/ui/")
			if page == nil {
				t.Fatal("no embedded page")
			}
			// Every asset the page names, and nothing inline.
			html := string(page.Body)
			refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(html, -1)
			if len(refs) != 2 {
				t.Fatalf("the page names %d files, want the script and the stylesheet: %v", len(refs), refs)
			}
			if regexp.MustCompile(`(?i)<script(?:[^>]*)>[^<]+</script>|<style|\sstyle=|\son[a-z]+=|javascript:`).MatchString(html) {
				t.Error("the page has inline script or style")
			}
			paths := map[string]string{"/ui": "index.html", "/ui/": "index.html", "/ui/index.html": "index.html"}
			for _, r := range refs {
				if !strings.HasPrefix(r[1], "/ui/") {
					t.Errorf("the page names %q, not under /ui/", r[1])
				}
				paths[r[1]] = strings.TrimPrefix(r[1], "/ui/")
			}
			wantType := map[string]string{"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
			for p, name := range paths {
				st, h, b := do(t, "GET", g.URL+p, "", "")
				a := ui.Lookup("/ui/" + name)
				if st != 200 || a == nil || !bytes.Equal(b, a.Body) {
					t.Errorf("GET %s: %d, %d bytes (want 200 and the embedded %s)", p, st, len(b), name)
					continue
				}
				if h.Get("content-type") != wantType[name] {
					t.Errorf("GET %s: content-type %q, want %q", p, h.Get("content-type"), wantType[name])
				}
				for k, v := range map[string]string{"content-security-policy": ui.CSP, "x-content-type-options": "nosniff",
					"x-frame-options": "DENY", "cache-control": "no-cache", "etag": a.ETag, "referrer-policy": "no-referrer"} {
					if h.Get(k) != v {
						t.Errorf("GET %s: %s %q, want %q", p, k, h.Get(k), v)
					}
				}
				if !strings.Contains(ui.CSP, "default-src 'self'") || strings.Contains(ui.CSP, "unsafe-") {
					t.Errorf("CSP %q", ui.CSP)
				}
				for _, secret := range []string{master, "sk-provider"} {
					if bytes.Contains(b, []byte(secret)) {
						t.Errorf("GET %s holds %q", p, secret)
					}
				}
				req, _ := http.NewRequest("GET", g.URL+p, nil)
				req.Header.Set("if-none-match", a.ETag)
				if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 304 {
					t.Errorf("GET %s with its ETag: %v %v, want 304", p, resp, err)
				} else {
					resp.Body.Close()
				}
			}
			for _, c := range []struct {
				method, path string
				status       int
				msg          string
			}{
				{"GET", "/ui/x", 404, "Route not found: /ui/x"},
				{"GET", "/ui/app.js/", 404, "Route not found"},
				{"GET", "/ui/static/app.js", 404, "Route not found"},
				{"POST", "/ui/", 405, "Method Not Allowed: POST"},
			} {
				st, h, b := do(t, c.method, g.URL+c.path, "", "")
				var e struct {
					Error struct{ Message, Type string } `json:"error"`
				}
				if st != c.status || h.Get("content-type") != "application/json" || json.Unmarshal(b, &e) != nil || !strings.Contains(e.Error.Message, c.msg) {
					t.Errorf("%s %s: %d %s %s, want %d OpenAI error JSON %q", c.method, c.path, st, h.Get("content-type"), b, c.status, c.msg)
				}
			}
			if st, _, b := do(t, "HEAD", g.URL+"/ui/app.js", "", ""); st != 200 || len(b) != 0 {
				t.Errorf("HEAD /ui/app.js: %d, %d bytes", st, len(b))
			}
		})
	}
	t.Run("DISABLE_ADMIN_UI", func(t *testing.T) {
		g := startGatewayArgs(t, keysConfig(fake.URL(), ""), nil, "LLMGATE_DATA_DIR="+t.TempDir(), "DISABLE_ADMIN_UI=True")
		for _, p := range []string{"/ui", "/ui/", "/ui/app.js"} {
			if st, _, b := do(t, "GET", g.URL+p, "", ""); st != 404 || !strings.Contains(string(b), "Admin UI is disabled") {
				t.Errorf("GET %s with DISABLE_ADMIN_UI=True: %d %s", p, st, b)
			}
		}
	})
}

// TestAdminUIBrowser (D152): the UI's script run in a DOM (jsdom, from
// ui/testdata: `make deps` installs it) by Node's test runner against the
// gateway through Envoy: a wrong key shows the API's error; the master key
// logs in; a key is generated (shown once, listed with its alias, budget,
// models), blocked (the API and a chat refuse it), unblocked and deleted;
// a team is created; spend per key, per model and the logs show a chat
// made before; /health is run; the key only ever travels in the
// Authorization header; an alias holding markup stays text.
func TestAdminUIBrowser(t *testing.T) {
	node, err := exec.LookPath("node")
	dir, _ := filepath.Abs("../ui/testdata")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "jsdom", "package.json")); err != nil || statErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node (%v) and jsdom in ui/testdata/node_modules (%v) are needed: make deps", err, statErr)
		}
		t.Skipf("node (%v) or jsdom (%v) missing: make deps", err, statErr)
	}
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, keysConfig(fake.URL(), ""), nil, "LLMGATE_DATA_DIR="+t.TempDir())
	k := keyAPI{t, g}
	key, _ := k.generate(`{"key_alias":"spender"}`)
	if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
		t.Fatalf("chat: %d %v", st, e)
	}
	// The spend log is written in batches: wait for the row the UI shows.
	for deadline := time.Now().Add(30 * time.Second); ; {
		st, _, b := do(t, "GET", g.URL+"/global/spend/models", master, "")
		if st == 200 && strings.Contains(string(b), `"gpt-4o"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no spend for gpt-4o: %d %s", st, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "ui_test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LLMGATE_URL="+g.URL, "LLMGATE_MASTER="+master)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test ui_test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the UI test failed: %v", err)
	}
	if !regexp.MustCompile(`(?m)pass 10\b`).Match(out) {
		t.Errorf("want 10 passing tests (the run and its 9 steps)")
	}
}
