package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// keysConfig has two model groups with prices (so every answer has a cost)
// and, when dbURL is set, a PostgreSQL key store.
func keysConfig(fake, dbURL string) string {
	db := ""
	if dbURL != "" {
		db = "\n  database_url: " + dbURL
	}
	return fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/v1
      api_key: sk-provider
    model_info:
      input_cost_per_token: 0.001
      output_cost_per_token: 0.002
  - model_name: other
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: %[1]s/v1
      api_key: sk-provider
    model_info:
      input_cost_per_token: 0.001
      output_cost_per_token: 0.002
general_settings:
  master_key: %[2]s
  proxy_batch_write_at: 1%[3]s
`, fake, master, db)
}

type keyAPI struct {
	t *testing.T
	g *Gateway
}

func (k keyAPI) call(method, path, key, body string) (int, map[string]any) {
	k.t.Helper()
	st, _, b := do(k.t, method, k.g.URL+path, key, body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		k.t.Fatalf("%s %s: %d, not JSON: %s", method, path, st, b)
	}
	return st, m
}

func (k keyAPI) generate(body string) (key, token string) {
	k.t.Helper()
	st, m := k.call("POST", "/key/generate", master, body)
	if st != 200 {
		k.t.Fatalf("/key/generate %s: %d %v", body, st, m)
	}
	key, _ = m["key"].(string)
	token, _ = m["token_id"].(string)
	if len(key) < 10 || key[:3] != "sk-" || len(token) != 64 || m["key_name"] != "sk-..."+key[len(key)-4:] {
		k.t.Fatalf("/key/generate answer: %v", m)
	}
	return key, token
}

// chat sends one chat request with key; it returns the status, the error
// object (nil on success) and the response headers.
func (k keyAPI) chat(key, model string) (int, map[string]any, http.Header) {
	k.t.Helper()
	st, h, b := post(k.t, k.g.URL+"/v1/chat/completions", key, `{"model":"`+model+`","messages":[{"role":"user","content":"hello keys"}]}`)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		k.t.Fatalf("chat: %d, not JSON: %s", st, b)
	}
	e, _ := m["error"].(map[string]any)
	if st == 200 && e != nil || st != 200 && e == nil {
		k.t.Fatalf("chat: status %d with body %s", st, b)
	}
	return st, e, h
}

func (k keyAPI) spend(key string) float64 {
	k.t.Helper()
	st, m := k.call("GET", "/key/info?key="+key, master, "")
	if st != 200 {
		k.t.Fatalf("/key/info: %d %v", st, m)
	}
	info, _ := m["info"].(map[string]any)
	s, _ := info["spend"].(float64)
	return s
}

func TestVirtualKeysEmbedded(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	dataDir := t.TempDir()
	runVirtualKeys(t, func() *Gateway {
		return startGateway(t, keysConfig(fake.URL(), ""), "LLMGATE_DATA_DIR="+dataDir)
	})
}

func TestVirtualKeysPostgres(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	var g *Gateway
	runVirtualKeys(t, func() *Gateway { g = startGateway(t, keysConfig(fake.URL(), url)); return g })
	// The rows are LiteLLM's: a LiteLLM proxy on this database sees the same keys and spend.
	if n := pg.Exec(t, url, `SELECT count(*) FROM "LiteLLM_VerificationToken" WHERE spend > 0`); n == "0" {
		t.Fatalf("no spend in LiteLLM_VerificationToken")
	}
	if n := pg.Exec(t, url, `SELECT count(*) FROM "LiteLLM_SpendLogs" WHERE spend > 0 AND api_key <> ''`); n == "0" {
		t.Fatalf("no rows in LiteLLM_SpendLogs")
	}
	t.Run("keys are checked without a database round trip: PostgreSQL stopped, keys still work", func(t *testing.T) {
		k := keyAPI{t, g}
		ok, _ := k.generate(`{"models":["gpt-x"]}`)
		pg.Stop()
		for i := 0; i < 3; i++ {
			if st, e, _ := k.chat(ok, "gpt-x"); st != 200 {
				t.Fatalf("request %d with the database down: %d %v", i, st, e)
			}
		}
		if st, e, _ := k.chat(ok, "other"); st != 401 || e["type"] != "key_model_access_denied" {
			t.Fatalf("model check with the database down: %d %v", st, e)
		}
		if st, _, _ := k.chat("sk-not-a-key-at-all", "gpt-x"); st != 401 {
			t.Fatalf("unknown key with the database down: %d", st)
		}
	})
}

// runVirtualKeys is the same suite for each key store; start starts a
// gateway on the same store each time it is called.
func runVirtualKeys(t *testing.T, start func() *Gateway) {
	g := start()
	k := keyAPI{t, g}

	limited, limitedTok := k.generate(`{"models":["gpt-x"],"key_alias":"app-1","metadata":{"team":"blue"}}`)
	t.Run("a generated key works and reports its spend", func(t *testing.T) {
		st, e, h := k.chat(limited, "gpt-x")
		if st != 200 {
			t.Fatalf("status %d: %v", st, e)
		}
		if h.Get("x-litellm-key-spend") == "" {
			t.Fatalf("no x-litellm-key-spend; headers %v", h)
		}
		for name := range h {
			if len(name) >= 9 && http.CanonicalHeaderKey(name)[:9] == "X-Llmgate" {
				t.Fatalf("internal header %s reached the client", name)
			}
		}
	})
	t.Run("refused for a model outside its list", func(t *testing.T) {
		st, e, _ := k.chat(limited, "other")
		if st != 401 || e["type"] != "key_model_access_denied" {
			t.Fatalf("status %d error %v", st, e)
		}
	})
	t.Run("a key reads its own /key/info and nothing else", func(t *testing.T) {
		st, m := k.call("GET", "/key/info", limited, "")
		info, _ := m["info"].(map[string]any)
		if st != 200 || info["key_alias"] != "app-1" || info["token"] != nil {
			t.Fatalf("own info: %d %v", st, m)
		}
		if st, m := k.call("POST", "/key/generate", limited, `{}`); st != 401 {
			t.Fatalf("a virtual key generated a key: %d %v", st, m)
		}
		other, _ := k.generate(`{}`)
		if st, m := k.call("GET", "/key/info?key="+other, limited, ""); st != 403 {
			t.Fatalf("a key read another key's info: %d %v", st, m)
		}
		if st, m := k.call("GET", "/key/list?key_alias=app-1", master, ""); st != 200 || m["total_count"].(float64) != 1 || m["keys"].([]any)[0] != limitedTok {
			t.Fatalf("/key/list: %d %v", st, m)
		}
	})
	t.Run("refused after /key/block, served after /key/unblock", func(t *testing.T) {
		if st, m := k.call("POST", "/key/block", master, `{"key":"`+limited+`"}`); st != 200 || m["blocked"] != true {
			t.Fatalf("/key/block: %d %v", st, m)
		}
		st, e, _ := k.chat(limited, "gpt-x")
		if st != 401 || e["type"] != "auth_error" || e["message"] != "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin." {
			t.Fatalf("blocked key: %d %v", st, e)
		}
		if st, m := k.call("POST", "/key/unblock", master, `{"key":"`+limitedTok+`"}`); st != 200 || m["blocked"] != false {
			t.Fatalf("/key/unblock: %d %v", st, m)
		}
		if st, e, _ := k.chat(limited, "gpt-x"); st != 200 {
			t.Fatalf("unblocked key: %d %v", st, e)
		}
	})
	t.Run("refused after expiry", func(t *testing.T) {
		short, _ := k.generate(`{"duration":"2s"}`)
		if st, e, _ := k.chat(short, "gpt-x"); st != 200 {
			t.Fatalf("before expiry: %d %v", st, e)
		}
		time.Sleep(2500 * time.Millisecond)
		st, e, _ := k.chat(short, "gpt-x")
		if st != 401 || e["type"] != "expired_key" {
			t.Fatalf("after expiry: %d %v", st, e)
		}
	})
	budget, _ := k.generate(`{"max_budget":0.001}`)
	t.Run("refused once its budget is spent", func(t *testing.T) {
		st, e, h := k.chat(budget, "gpt-x")
		if st != 200 {
			t.Fatalf("first request: %d %v", st, e)
		}
		cost, _ := strconv.ParseFloat(h.Get("x-litellm-response-cost"), 64)
		if cost <= 0.001 {
			t.Fatalf("the fixture needs a request to cost more than the budget; cost %v", cost)
		}
		// The spend sink runs off the request path: the next check sees it
		// within moments, never after a database round trip.
		deadline := time.Now().Add(5 * time.Second)
		for {
			st, e, _ = k.chat(budget, "gpt-x")
			if st != 200 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if st != 400 || e["type"] != "budget_exceeded" {
			t.Fatalf("over budget: %d %v", st, e)
		}
	})
	t.Run("a team budget holds over several keys", func(t *testing.T) {
		st, team := k.call("POST", "/team/new", master, `{"team_alias":"blue","max_budget":0.001}`)
		if st != 200 {
			t.Fatalf("/team/new: %d %v", st, team)
		}
		tid, _ := team["team_id"].(string)
		k1, _ := k.generate(`{"team_id":"` + tid + `"}`)
		k2, _ := k.generate(`{"team_id":"` + tid + `"}`)
		if st, e, _ := k.chat(k1, "gpt-x"); st != 200 {
			t.Fatalf("first key: %d %v", st, e)
		}
		deadline := time.Now().Add(5 * time.Second)
		var e map[string]any
		for {
			st, e, _ = k.chat(k2, "gpt-x")
			if st != 200 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if st != 400 || e["type"] != "budget_exceeded" {
			t.Fatalf("second key of a team over budget: %d %v", st, e)
		}
	})
	t.Run("rpm_limit: 429 with retry-after, remaining requests in a header", func(t *testing.T) {
		// The window is the UTC minute: a sequence that straddles a minute
		// boundary is tried once more with a fresh key.
		for try := 0; try < 2; try++ {
			lim, _ := k.generate(`{"rpm_limit":2}`)
			for i, want := range []string{"1", "0"} {
				st, e, h := k.chat(lim, "gpt-x")
				if st != 200 || h.Get("x-litellm-key-remaining-requests") != want {
					t.Fatalf("request %d: %d %v, x-litellm-key-remaining-requests %q, want %s", i, st, e, h.Get("x-litellm-key-remaining-requests"), want)
				}
			}
			st, e, h := k.chat(lim, "gpt-x")
			if st == 200 && try == 0 {
				continue
			}
			ra, _ := strconv.Atoi(h.Get("retry-after"))
			if st != 429 || e["type"] != "rate_limit_error" || ra < 1 || ra > 60 {
				t.Fatalf("third request in a minute: %d %v, retry-after %q", st, e, h.Get("retry-after"))
			}
			return
		}
	})
	t.Run("a key's aliases rename the model", func(t *testing.T) {
		aliased, _ := k.generate(`{"models":["gpt-x"],"aliases":{"my-model":"gpt-x"}}`)
		if st, e, h := k.chat(aliased, "my-model"); st != 200 || h.Get("x-litellm-model-group") == "other" {
			t.Fatalf("aliased model: %d %v", st, e)
		}
		if st, e, _ := k.chat(aliased, "other"); st != 401 {
			t.Fatalf("a model outside the list is still refused: %d %v", st, e)
		}
	})
	t.Run("/key/update changes the model list", func(t *testing.T) {
		if st, m := k.call("POST", "/key/update", master, `{"key":"`+limited+`","models":["gpt-x","other"]}`); st != 200 {
			t.Fatalf("/key/update: %d %v", st, m)
		}
		if st, e, _ := k.chat(limited, "other"); st != 200 {
			t.Fatalf("after update: %d %v", st, e)
		}
	})
	var regenerated string
	t.Run("/key/regenerate: the old value stops working, the new one keeps the spend", func(t *testing.T) {
		before := k.spend(limited)
		st, m := k.call("POST", "/key/"+limited+"/regenerate", master, `{}`)
		if st != 200 {
			t.Fatalf("/key/regenerate: %d %v", st, m)
		}
		regenerated, _ = m["key"].(string)
		if st, _, _ := k.chat(limited, "gpt-x"); st != 401 {
			t.Fatalf("old value after regenerate: %d", st)
		}
		if st, e, _ := k.chat(regenerated, "gpt-x"); st != 200 {
			t.Fatalf("new value: %d %v", st, e)
		}
		if after := k.spend(regenerated); after < before {
			t.Fatalf("spend %v after regenerate, %v before", after, before)
		}
	})
	runKeyGracePeriod(t, k)
	// Spend written in batches survives a restart.
	time.Sleep(1500 * time.Millisecond) // one proxy_batch_write_at
	want := k.spend(regenerated)
	if want <= 0 {
		t.Fatalf("no spend recorded: %v", want)
	}
	g.Stop()
	g = start()
	k = keyAPI{t, g}
	t.Run("keys and spend survive a restart", func(t *testing.T) {
		if got := k.spend(regenerated); math.Abs(got-want) > 1e-9 {
			t.Fatalf("spend after restart %v, before %v", got, want)
		}
		if st, e, _ := k.chat(budget, "gpt-x"); st != 400 || e["type"] != "budget_exceeded" {
			t.Fatalf("over-budget key after restart: %d %v", st, e)
		}
	})
	t.Run("/key/delete", func(t *testing.T) {
		st, m := k.call("POST", "/key/delete", master, `{"keys":["`+regenerated+`"]}`)
		if st != 200 || len(m["deleted_keys"].([]any)) != 1 {
			t.Fatalf("/key/delete: %d %v", st, m)
		}
		if st, e, _ := k.chat(regenerated, "gpt-x"); st != 401 {
			t.Fatalf("deleted key: %d %v", st, e)
		}
		if st, m := k.call("POST", "/key/delete", master, `{"keys":["`+regenerated+`"]}`); st != 404 {
			t.Fatalf("second delete: %d %v", st, m)
		}
	})
}

// Crash test: the gateway is killed (SIGKILL, Envoy too) right after a run of
// answered requests; after a restart the key's spend is the sum of the
// answered requests' costs: spend acknowledged to a client is in the
// write-ahead file, not only in memory. The file is read after every answer:
// the answer's line (its x-litellm-call-id) is there by the time the client
// has the answer (D92: the attempt filter published the event after its last
// reply, and under load the kill could come before the spend sink wrote it).
func TestVirtualKeySpendSurvivesKill(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	dataDir := t.TempDir()
	cfg := keysConfig(fake.URL(), "")
	// A batch interval far longer than the test: nothing is written to the
	// key store before the kill, everything must come from the write-ahead file.
	cfg = cfg[:len(cfg)-len("  proxy_batch_write_at: 1\n")] + "  proxy_batch_write_at: 3600\n"
	g := startGateway(t, cfg, "LLMGATE_DATA_DIR="+dataDir)
	k := keyAPI{t, g}
	key, _ := k.generate(`{}`)
	var sum float64
	for i := 0; i < 20; i++ {
		st, e, h := k.chat(key, "gpt-x")
		if st != 200 {
			t.Fatalf("request %d: %d %v", i, st, e)
		}
		c, err := strconv.ParseFloat(h.Get("x-litellm-response-cost"), 64)
		if err != nil || c <= 0 {
			t.Fatalf("request %d: x-litellm-response-cost %q", i, h.Get("x-litellm-response-cost"))
		}
		sum += c
		if id := h.Get("x-litellm-call-id"); id == "" || !strings.Contains(writeAhead(t, dataDir), `"request_id":"`+id+`"`) {
			t.Fatalf("request %d (call id %q) answered; its spend is not in the write-ahead file yet", i, id)
		}
	}
	if err := syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-g.done
	if m, _ := filepath.Glob(filepath.Join(dataDir, "spend", "*")); len(m) == 0 {
		t.Fatalf("no write-ahead file in %s", dataDir)
	}
	g = startGateway(t, cfg, "LLMGATE_DATA_DIR="+dataDir)
	k = keyAPI{t, g}
	if got := k.spend(key); math.Abs(got-sum) > 1e-9 {
		t.Fatalf("spend after kill -9 and restart: %v, answered requests cost %v", got, sum)
	}
}

// writeAhead is the spend write-ahead files' content under a data dir.
func writeAhead(t *testing.T, dataDir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dataDir, "spend", "*"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) { // (a sealed file is removed once stored)
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// max_parallel_requests through Envoy: a second request while the first is
// in flight is a 429; the slot comes back when the first answer reaches the
// client, also after a failed answer (no slot leaks).
func TestVirtualKeyParallelLimit(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{Model: "gpt-4o-mini"}, Fault: fakeprovider.Fault{Delay: 1500 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, keysConfig(fake.URL(), ""))
	k := keyAPI{t, g}
	key, _ := k.generate(`{"max_parallel_requests":1}`)
	done := make(chan int, 1)
	go func() {
		st, _, _ := post(t, g.URL+"/v1/chat/completions", key, `{"model":"other","messages":[{"role":"user","content":"slow"}]}`)
		done <- st
	}()
	time.Sleep(500 * time.Millisecond) // the slow request is in flight
	st, e, h := k.chat(key, "gpt-x")
	if st != 429 || e["type"] != "rate_limit_error" || h.Get("retry-after") == "" {
		t.Fatalf("second request in flight: %d %v retry-after %q", st, e, h.Get("retry-after"))
	}
	if st := <-done; st != 200 {
		t.Fatalf("slow request: %d", st)
	}
	for i := 0; i < 3; i++ {
		if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
			t.Fatalf("request %d after the slow one ended: %d %v", i, st, e)
		}
	}
	// A failed answer releases the slot too.
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{Model: "gpt-4o"}, Fault: fakeprovider.Fault{Status: 400, ErrorMessage: "bad"}}); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := k.chat(key, "gpt-x"); st != 400 {
		t.Fatalf("the faulted request: %d", st)
	}
	fake.ClearRules()
	if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
		t.Fatalf("after a failed answer: %d %v", st, e)
	}
}
