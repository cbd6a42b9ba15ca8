package e2e

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// requestFilterMode is a request filter a test runs on: its name and the
// gateway's arguments for it.
type requestFilterMode struct {
	name string
	args []string
}

// requestFilterModes are the two request filters a test runs on.
var requestFilterModes = []requestFilterMode{{"module", moduleArgs}, {"ext_proc", extProcArgs}}

// eachFilterAndStore runs f as a subtest on each request filter with each
// key store: db is "" for the embedded store, else a new PostgreSQL
// database's URL (one server for the whole test).
func eachFilterAndStore(t *testing.T, f func(t *testing.T, mode requestFilterMode, db string)) {
	pg := pgtest.Start(t)
	for _, mode := range requestFilterModes {
		for _, store := range []string{"embedded", "postgres"} {
			t.Run(mode.name+"/"+store, func(t *testing.T) {
				db := ""
				if store == "postgres" {
					db = pg.NewDatabase(t)
				}
				f(t, mode, db)
			})
		}
	}
}

// wantError asserts a reply's status, error type and message.
func wantError(t *testing.T, what string, st int, b []byte, status int, typ, msg string) {
	t.Helper()
	var m struct {
		Error struct{ Message, Type, Code string }
	}
	if err := json.Unmarshal(b, &m); err != nil || st != status || m.Error.Type != typ || m.Error.Message != msg {
		t.Errorf("%s: %d %s, want %d %s %q", what, st, b, status, typ, msg)
	}
}

// general_settings.enforce_user_param and enforced_params, and a key's
// metadata.enforced_params (D90), and service_account_settings'
// enforced_params for a /key/service-account/generate key (D161), through
// Envoy on both request filters and both key stores: a virtual key's request without `user` is refused
// with LiteLLM's 401, a request without an enforced field with LiteLLM's
// 500 (the master key too, which enforce_user_param spares); a request
// with them is served — in module mode by the module itself, no
// request-filter stream.
func TestKeyRequestChecks(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	eachFilterAndStore(t, func(t *testing.T, mode requestFilterMode, db string) {
		cfg := keysConfig(fake.URL(), db) + "  enforce_user_param: true\n  enforced_params: [max_tokens]\n" +
			"  service_account_settings: {enforced_params: [temperature]}\n"
		g := startGatewayArgs(t, cfg, mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
		k := keyAPI{t, g}
		key, _ := k.generate(`{"models":["gpt-x"]}`)
		strict, _ := k.generate(`{"models":["gpt-x"],"metadata":{"enforced_params":["metadata.generation_name"]}}`)
		if st, m := k.call("POST", "/team/new", master, `{"team_id":"bots"}`); st != 200 {
			t.Fatalf("/team/new: %d %v", st, m)
		}
		st, m := k.call("POST", "/key/service-account/generate", master, `{"team_id":"bots","key_alias":"ci"}`)
		bot, _ := m["key"].(string)
		if st != 200 || bot == "" {
			t.Fatalf("/key/service-account/generate: %d %v", st, m)
		}
		if mode.name == "module" {
			waitModuleKnowsKey(t, g, key, "other")
			waitModuleKnowsKey(t, g, strict, "other")
			waitModuleKnowsKey(t, g, bot, "other")
		}
		url := g.URL + "/v1/chat/completions"
		st, _, b := post(t, url, key, chatBody("gpt-x", "no user", `"max_tokens":5`))
		wantError(t, "a key without user", st, b, 401, "auth_error", "Authentication Error, 'user' param not passed in. 'enforce_user_param'=True")
		st, _, b = post(t, url, key, chatBody("gpt-x", "no max_tokens", `"user":"u1"`))
		wantError(t, "a key without max_tokens", st, b, 500, "None", "BadRequest please pass param=max_tokens in request body. This is a required param")
		st, _, b = post(t, url, master, chatBody("gpt-x", "master, no max_tokens"))
		wantError(t, "the master key without max_tokens", st, b, 500, "None", "BadRequest please pass param=max_tokens in request body. This is a required param")
		st, _, b = post(t, url, strict, chatBody("gpt-x", "strict", `"user":"u1"`, `"max_tokens":5`))
		wantError(t, "the key's own enforced_params", st, b, 500, "None", "BadRequest please pass param=[metadata][generation_name] in request body. This is a required param")
		// service_account_settings.enforced_params: the service account key
		// only (key above was served without temperature).
		st, _, b = post(t, url, bot, chatBody("gpt-x", "bot", `"user":"u1"`, `"max_tokens":5`))
		wantError(t, "a service account key without temperature", st, b, 500, "None", "BadRequest please pass param=temperature in request body. This is a required param")

		before := requestFilterStreams(t, g)
		if st, _, b := post(t, url, key, chatBody("gpt-x", "all there", `"user":"u1"`, `"max_tokens":5`)); st != 200 {
			t.Fatalf("a key's request with user and max_tokens: %d %s", st, b)
		}
		if st, _, b := post(t, url, master, chatBody("gpt-x", "master", `"max_tokens":5`)); st != 200 {
			t.Fatalf("the master key's request without user: %d %s", st, b)
		}
		if n := requestFilterStreams(t, g) - before; mode.name == "module" && n != 0 {
			t.Errorf("the two plain requests opened %d request-filter streams: not served by the module", n)
		}
		if st, _, b := post(t, url, strict, chatBody("gpt-x", "strict", `"user":"u1"`, `"max_tokens":5`, `"metadata":{"generation_name":"g"}`)); st != 200 {
			t.Fatalf("the strict key's request with metadata.generation_name: %d %s", st, b)
		}
		if st, _, b := post(t, url, bot, chatBody("gpt-x", "bot", `"user":"u1"`, `"max_tokens":5`, `"temperature":0`)); st != 200 {
			t.Fatalf("the service account key's request with temperature: %d %s", st, b)
		}
	})
}

// general_settings.allowed_ips with and without use_x_forwarded_for (D90),
// on both request filters: the peer's address (as Envoy appends it, not a
// client's X-Forwarded-For) is compared unless use_x_forwarded_for, which
// reads the client's header; a refusal is LiteLLM's 403, on LLM and
// management routes alike. (The peer's address is read from a refusal:
// in a sandbox a loopback connection may come from another address.)
func TestKeyAllowedIPs(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	const url = "/v1/chat/completions"
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			start := func(settings string) *Gateway {
				return startGatewayArgs(t, keysConfig(fake.URL(), "")+settings, mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			}
			// A client's header does not stand in for the peer.
			g := start("  allowed_ips: [10.1.2.3]\n")
			st, _, b := postWith(t, g.URL+url, master, chatBody("gpt-x", "spoofed"), "x-forwarded-for", "10.1.2.3")
			var m struct{ Error struct{ Message string } }
			_ = json.Unmarshal(b, &m)
			peer, ok := strings.CutPrefix(m.Error.Message, "Access forbidden: IP address ")
			peer, ok2 := strings.CutSuffix(peer, " not allowed.")
			if st != 403 || !ok || !ok2 || net.ParseIP(peer) == nil {
				t.Fatalf("a spoofed X-Forwarded-For: %d %s, want 403 naming the peer's address", st, b)
			}
			wantError(t, "a spoofed X-Forwarded-For", st, b, 403, "auth_error", "Access forbidden: IP address "+peer+" not allowed.")

			// The peer allowed: served (by the module in module mode).
			g = start("  allowed_ips: [" + peer + "]\n")
			before := requestFilterStreams(t, g)
			if st, _, b := postWith(t, g.URL+url, master, chatBody("gpt-x", "from the peer"), "x-forwarded-for", "10.9.9.9"); st != 200 {
				t.Fatalf("the peer %s with a client's X-Forwarded-For: %d %s", peer, st, b)
			}
			if n := requestFilterStreams(t, g) - before; mode.name == "module" && n != 0 {
				t.Errorf("an allowed request opened %d request-filter streams: not served by the module", n)
			}

			// use_x_forwarded_for: the client's header, else the peer.
			g = start("  allowed_ips: [10.1.2.3]\n  use_x_forwarded_for: true\n")
			st, _, b = post(t, g.URL+url, master, chatBody("gpt-x", "no header"))
			wantError(t, "no X-Forwarded-For", st, b, 403, "auth_error", "Access forbidden: IP address "+peer+" not allowed.")
			st, _, b = postWith(t, g.URL+"/key/generate", master, `{}`, "x-forwarded-for", "10.9.9.9")
			wantError(t, "/key/generate from 10.9.9.9", st, b, 403, "auth_error", "Access forbidden: IP address 10.9.9.9 not allowed.")
			if st, _, b := postWith(t, g.URL+url, master, chatBody("gpt-x", "forwarded"), "x-forwarded-for", "10.1.2.3"); st != 200 {
				t.Fatalf("X-Forwarded-For 10.1.2.3: %d %s", st, b)
			}
		})
	}
}
