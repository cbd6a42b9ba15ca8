package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestModuleVirtualKeys (D57): with --request-filter=module the module
// serves virtual keys from the key table the gateway pushes (no ext_proc
// request-filter stream), and answers as the ext_proc filter does (a second
// gateway without the module, same config and the same key, side by side):
// success with the same x-litellm-* headers (x-litellm-key-spend,
// x-litellm-key-max-budget), refused outside its models, after /key/block
// from the next request on (the route answers once the module applied the
// change) and served again after /key/unblock, refused once its budget is
// spent; a key with an rpm_limit is handed to ext_proc; the spend of the
// requests the module served is counted exactly (the key's spend after a
// batch equals the sum of the answers' x-litellm-response-cost).
func TestModuleVirtualKeys(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := keysConfig(fake.URL(), "")
	mod := startGatewayArgs(t, cfg, moduleArgs, "LLMGATE_DATA_DIR="+t.TempDir())
	ext := startGatewayArgs(t, cfg, []string{"--request-filter=extproc"}, "LLMGATE_DATA_DIR="+t.TempDir())
	waitLog(t, mod, "llmgate module: config")
	km, ke := keyAPI{t, mod}, keyAPI{t, ext}

	type answer struct {
		code   int
		hdr    http.Header
		err    map[string]any
		served bool // no request-filter stream: the module answered
	}
	call := func(g *Gateway, key, model string) answer {
		t.Helper()
		before := requestFilterStreams(t, g)
		st, h, b := post(t, g.URL+"/v1/chat/completions", key, chatBody(model, "hello keys"))
		var m struct {
			Error map[string]any `json:"error"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("not JSON: %d %s", st, b)
		}
		return answer{st, h, m.Error, requestFilterStreams(t, g) == before}
	}
	litellm := func(h http.Header) string {
		var out []string
		for k := range h {
			k = strings.ToLower(k)
			if strings.HasPrefix(k, "x-llmgate") {
				t.Errorf("internal header %s reached the client", k)
			}
			switch k {
			case "x-litellm-call-id", "x-litellm-response-duration-ms", "x-litellm-overhead-duration-ms", "x-litellm-model-id", "x-litellm-model-api-base":
				out = append(out, k)
			default:
				if strings.HasPrefix(k, "x-litellm-") {
					out = append(out, k+"="+h.Get(k))
				}
			}
		}
		return fmt.Sprint(sortedStrings(out))
	}
	// both sends the request to both gateways: the same status, error and
	// x-litellm-* headers; served says whether the module answered it.
	both := func(what, key, model string, served bool) answer {
		t.Helper()
		a, b := call(mod, key, model), call(ext, key, model)
		if a.served != served {
			t.Errorf("%s: served by the module = %v, want %v", what, a.served, served)
		}
		if a.code != b.code || fmt.Sprint(a.err) != fmt.Sprint(b.err) {
			t.Errorf("%s: with the module %d %v, without %d %v", what, a.code, a.err, b.code, b.err)
		}
		if ha, hb := litellm(a.hdr), litellm(b.hdr); ha != hb {
			t.Errorf("%s: x-litellm-* headers with the module\n%s\nwithout\n%s", what, ha, hb)
		}
		return a
	}
	gen := func(body string) string {
		t.Helper()
		k, _ := km.generate(body)
		var m map[string]any
		_ = json.Unmarshal([]byte(body), &m)
		m["key"] = k
		js, _ := json.Marshal(m)
		if k2, _ := ke.generate(string(js)); k2 != k {
			t.Fatalf("the key differs on the second gateway")
		}
		return k
	}

	key := gen(`{"models":["gpt-x"],"key_alias":"app-1","max_budget":100}`)
	waitModuleKnowsKey(t, mod, key, "other")
	var costs float64
	if a := both("a generated key", key, "gpt-x", true); a.code != 200 || a.hdr.Get("x-litellm-key-spend") != "0" || a.hdr.Get("x-litellm-key-max-budget") != "100" {
		t.Fatalf("a generated key: %d %v %v", a.code, a.err, a.hdr)
	} else {
		c, _ := strconv.ParseFloat(a.hdr.Get("x-litellm-response-cost"), 64)
		costs += c
	}
	// The spend the module shows is the table's, pushed at most every
	// second while only spend moves (checked every 250 ms).
	time.Sleep(2 * time.Second)
	if a := both("the key's spend in its headers", key, "gpt-x", true); a.code != 200 || a.hdr.Get("x-litellm-key-spend") == "0" {
		t.Fatalf("second request: %d %v %v", a.code, a.err, a.hdr)
	} else {
		c, _ := strconv.ParseFloat(a.hdr.Get("x-litellm-response-cost"), 64)
		costs += c
	}
	if a := both("outside its models", key, "other", true); a.code != 401 || a.err["type"] != "key_model_access_denied" {
		t.Fatalf("outside its models: %d %v", a.code, a.err)
	}

	start := time.Now()
	for _, g := range []keyAPI{km, ke} {
		if st, m := g.call("POST", "/key/block", master, `{"key":"`+key+`"}`); st != 200 || m["blocked"] != true {
			t.Fatalf("/key/block: %d %v", st, m)
		}
	}
	t.Logf("/key/block answered in %v (both gateways; the module's has waited for the module to apply it)", time.Since(start))
	if a := both("blocked", key, "gpt-x", true); a.code != 401 || a.err["message"] != "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin." {
		t.Fatalf("blocked: %d %v", a.code, a.err)
	}
	for _, g := range []keyAPI{km, ke} {
		if st, m := g.call("POST", "/key/unblock", master, `{"key":"`+key+`"}`); st != 200 {
			t.Fatalf("/key/unblock: %d %v", st, m)
		}
	}
	if a := call(mod, key, "gpt-x"); a.code != 200 || !a.served {
		t.Fatalf("unblocked: %d %v served=%v", a.code, a.err, a.served)
	} else {
		c, _ := strconv.ParseFloat(a.hdr.Get("x-litellm-response-cost"), 64)
		costs += c
	}

	// Spend of module-served requests: counted exactly.
	for i := 0; i < 10; i++ {
		a := call(mod, key, "gpt-x")
		if a.code != 200 || !a.served {
			t.Fatalf("request %d: %d %v served=%v", i, a.code, a.err, a.served)
		}
		c, _ := strconv.ParseFloat(a.hdr.Get("x-litellm-response-cost"), 64)
		if c <= 0 {
			t.Fatalf("no x-litellm-response-cost: %v", a.hdr)
		}
		costs += c
	}
	deadline := time.Now().Add(10 * time.Second)
	for math.Abs(km.spend(key)-costs) > 1e-9 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // proxy_batch_write_at: 1 s
	}
	if got := km.spend(key); math.Abs(got-costs) > 1e-9 {
		t.Errorf("the key's spend %v, the answers' costs %v", got, costs)
	}

	// A budget: refused once spent, by the module, as by ext_proc.
	budget := gen(`{"max_budget":0.001}`)
	if a := both("under budget", budget, "gpt-x", true); a.code != 200 {
		t.Fatalf("first request: %d %v", a.code, a.err)
	}
	start = time.Now()
	passed := 0
	var a answer
	for {
		a = call(mod, budget, "gpt-x")
		if a.code != 200 || time.Since(start) > 5*time.Second {
			break
		}
		passed++
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("budget crossed: the module refused after %v (%d more requests answered meanwhile)", time.Since(start), passed)
	if a.code != 400 || a.err["type"] != "budget_exceeded" || !a.served {
		t.Fatalf("over budget: %d %v served=%v", a.code, a.err, a.served)
	}
	if b := call(ext, budget, "gpt-x"); b.code != 400 || b.err["type"] != "budget_exceeded" {
		t.Fatalf("over budget without the module: %d %v", b.code, b.err)
	}

	// A key with an rpm limit: its first request asks for the lease on the
	// key's counter and is served by ext_proc (D83; TestModuleKeyLimits).
	limited := gen(`{"rpm_limit":100}`)
	if a := both("rpm_limit", limited, "gpt-x", false); a.code != 200 || a.hdr.Get("x-litellm-key-remaining-requests") != "99" {
		t.Fatalf("rpm_limit: %d %v %v", a.code, a.err, a.hdr)
	}
	// An unknown key: handed on, ext_proc's 401.
	if a := both("unknown key", "sk-not-a-key-at-all", "gpt-x", false); a.code != 401 {
		t.Fatalf("unknown key: %d %v", a.code, a.err)
	}
	// Deleted: refused from the next request on.
	for _, g := range []keyAPI{km, ke} {
		if st, m := g.call("POST", "/key/delete", master, `{"keys":["`+key+`"]}`); st != 200 {
			t.Fatalf("/key/delete: %d %v", st, m)
		}
	}
	if a := both("deleted", key, "gpt-x", false); a.code != 401 {
		t.Fatalf("deleted: %d %v", a.code, a.err)
	}
}

func sortedStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// waitModuleKnowsKey waits (10 s at most) until g's module has key in its
// table: a creation answers without waiting for the module (D63), so a
// key's first request may still be handed to ext_proc. The probe asks for
// deniedModel, a model outside the key's list: refused with no spend, by
// the module once it knows the key.
func waitModuleKnowsKey(t *testing.T, g *Gateway, key, deniedModel string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		before := requestFilterStreams(t, g)
		st, _, b := post(t, g.URL+"/v1/chat/completions", key, chatBody(deniedModel, "probe"))
		if st != 401 {
			t.Fatalf("probe of the new key with model %q: %d %s, want 401", deniedModel, st, b)
		}
		if requestFilterStreams(t, g) == before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the module did not take the new key within 10 s")
		}
	}
}
