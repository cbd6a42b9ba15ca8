package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/xds"
)

// hostsProvider is the fake provider served on several loopback addresses
// of one port; it records the address and path of every request.
type hostsProvider struct {
	*fakeprovider.Server
	port int
	mu   sync.Mutex
	seen []string // "<local ip> <path> <authorization>"
}

func startHostsProvider(t *testing.T, ips ...string) *hostsProvider {
	t.Helper()
	h := &hostsProvider{Server: fakeprovider.New(fakeprovider.Options{})}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		la, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		ip, _, _ := net.SplitHostPort(la.String())
		h.mu.Lock()
		h.seen = append(h.seen, ip+" "+r.URL.Path+" "+r.Header.Get("authorization"))
		h.mu.Unlock()
		h.ServeHTTP(w, r)
	})}
	for i, ip := range ips {
		addr := net.JoinHostPort(ip, strconv.Itoa(h.port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen on %s: %v", addr, err)
		}
		if i == 0 {
			h.port = l.Addr().(*net.TCPAddr).Port
		}
		go func() { _ = srv.Serve(l) }()
	}
	t.Cleanup(func() { _ = srv.Close() })
	return h
}

// at counts the requests that reached ip under path prefix with this key.
func (h *hostsProvider) at(ip, prefix, key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.seen {
		f := strings.SplitN(s, " ", 3)
		if f[0] == ip && strings.HasPrefix(f[1], prefix) && f[2] == "Bearer "+key {
			n++
		}
	}
	return n
}

// wrong counts the requests under path prefix that reached another address
// than ip.
func (h *hostsProvider) wrong(ip, prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.seen {
		f := strings.SplitN(s, " ", 3)
		if f[0] != ip && strings.HasPrefix(f[1], prefix) {
			n++
		}
	}
	return n
}

// TestManyHosts (D86): a config whose fast-path deployments sit on more than
// xds.ManyHostsMin upstream hosts (plain http, IP addresses) runs in module
// mode on one cluster of all those hosts, the try's host picked by the
// override_host policy from the plan's list: every try reaches its own
// deployment's address with its path and key; a failing try is retried on
// the other host of its group; a fallback chain many → a host name's own
// cluster → many takes the right host on each try (the list is consumed
// only by tries on the many-host cluster); the failing deployment is cooled
// down by name and gets nothing more; a reload that moves a host while a
// request waits for its retry never sends a deployment's key to another
// deployment's host (Envoy skips the vanished address and picks the next
// entry's host: the module refuses that try).
func TestManyHosts(t *testing.T) {
	ips := []string{"127.0.2.1", "127.0.2.2", "127.0.2.3", "127.0.2.4", "127.0.2.5", "127.0.2.6", "127.0.0.1"}
	p := startHostsProvider(t, ips...)
	port := p.port
	// conf: rb's host, and a probe group (a reload applied).
	conf := func(rb string, probe bool) string {
		var b strings.Builder
		fmt.Fprintf(&b, `model_list:
  - model_name: solo1
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.2.1:%[1]d/s1/v1", api_key: k-s1}
    model_info: {id: s1}
  - model_name: solo2
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.2.2:%[1]d/s2/v1", api_key: k-s2}
    model_info: {id: s2}
  - model_name: solo3
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.2.3:%[1]d/s3/v1", api_key: k-s3}
    model_info: {id: s3}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.2.1:%[1]d/p1/v1", api_key: k-p1}
    model_info: {id: p1}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.2.2:%[1]d/p2/v1", api_key: k-p2}
    model_info: {id: p2}
  - model_name: fb1
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.2.3:%[1]d/fb1/v1", api_key: k-fb1}
    model_info: {id: fb1}
  - model_name: fbx
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://localhost:%[1]d/fbx/v1", api_key: k-fbx}
    model_info: {id: fbx}
  - model_name: fb2
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.2.4:%[1]d/fb2/v1", api_key: k-fb2}
    model_info: {id: fb2}
  - model_name: ra
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.2.1:%[1]d/ra/v1", api_key: k-ra, num_retries: 0}
    model_info: {id: ra}
  - model_name: rb
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://%[2]s:%[1]d/rb/v1", api_key: k-rb, num_retries: 0}
    model_info: {id: rb}
  - model_name: rc
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.2.4:%[1]d/rc/v1", api_key: k-rc, num_retries: 0}
    model_info: {id: rc}
`, port, rb)
		if probe {
			fmt.Fprintf(&b, "  - model_name: probe\n    litellm_params: {model: openai/gpt-4o-mini, api_base: \"http://127.0.2.2:%d/probe/v1\", api_key: k-probe}\n", port)
		}
		// Hosts nothing listens on, to pass xds.ManyHostsMin.
		for i := 0; i < xds.ManyHostsMin; i++ {
			fmt.Fprintf(&b, "  - model_name: filler%d\n    litellm_params: {model: openai/gpt-4o-mini, api_base: \"http://127.0.3.%d:%d/v1\", api_key: k-f}\n", i, 1+i, port)
		}
		fmt.Fprintf(&b, `router_settings:
  num_retries: 2
  allowed_fails: 1
  cooldown_time: 60
  fallbacks: [{"fb1": ["fbx", "fb2"]}, {"ra": ["rb", "rc"]}]
general_settings:
  master_key: %s
`, master)
		return b.String()
	}
	g := startGatewayArgs(t, conf("127.0.2.5", false), moduleArgs)

	t.Run("one cluster of the many hosts, none per host", func(t *testing.T) {
		dump := adminGet(t, g, "/config_dump")
		if !strings.Contains(dump, `"name": "`+xds.ManyHostsCluster+`"`) || !strings.Contains(dump, "envoy.load_balancing_policies.override_host") {
			t.Fatalf("no cluster %s with the override_host policy in Envoy's config", xds.ManyHostsCluster)
		}
		for _, c := range []string{"dep_host_127_0_2_1_", "dep_host_127_0_3_1_", "dep_s1", "dep_p1"} {
			if strings.Contains(dump, `"name": "`+c) {
				t.Errorf("Envoy has a cluster %s…: the many hosts should share one", c)
			}
		}
		if !strings.Contains(dump, fmt.Sprintf(`"name": "dep_host_localhost_%d"`, port)) {
			t.Errorf("the host name's deployment lost its own cluster")
		}
	})

	t.Run("each try reaches its deployment's host, path and key", func(t *testing.T) {
		for round := 0; round < 3; round++ {
			for i := 1; i <= 3; i++ {
				r := send(g.URL, chatBody("solo"+strconv.Itoa(i), "hi"))
				if r.code != 200 || r.hdr.Get("x-litellm-model-id") != "s"+strconv.Itoa(i) {
					t.Fatalf("solo%d: %v %v", i, r, r.hdr)
				}
			}
		}
		for i := 1; i <= 3; i++ {
			ip, path := fmt.Sprintf("127.0.2.%d", i), fmt.Sprintf("/s%d/v1/chat/completions", i)
			if n := p.at(ip, path, fmt.Sprintf("k-s%d", i)); n != 3 {
				t.Errorf("deployment s%d: %d requests at %s %s with its key, want 3 (seen %v)", i, n, ip, path, p.seen)
			}
			if n := p.wrong(ip, fmt.Sprintf("/s%d/", i)); n != 0 {
				t.Errorf("deployment s%d: %d requests reached another host", i, n)
			}
		}
	})

	t.Run("a fallback chain across clusters takes the right host on each try", func(t *testing.T) {
		failPath(t, p.Server, "/fb1/", 500, "down")
		failPath(t, p.Server, "/fbx/", 500, "down")
		defer p.ClearRules()
		r := send(g.URL, chatBody("fb1", "fall"))
		if r.code != 200 || r.hdr.Get("x-litellm-model-id") != "fb2" || r.hdr.Get("x-litellm-attempted-fallbacks") != "2" {
			t.Fatalf("fb1 → fbx → fb2: %v %v", r, r.hdr)
		}
		if p.at("127.0.2.3", "/fb1/", "k-fb1") == 0 || p.at("127.0.0.1", "/fbx/", "k-fbx") == 0 || p.at("127.0.2.4", "/fb2/", "k-fb2") != 1 {
			t.Errorf("the tries did not reach fb1, fbx and fb2 on their hosts: %v", p.seen)
		}
		for _, d := range []struct{ ip, prefix string }{{"127.0.2.3", "/fb1/"}, {"127.0.0.1", "/fbx/"}, {"127.0.2.4", "/fb2/"}} {
			if n := p.wrong(d.ip, d.prefix); n != 0 {
				t.Errorf("%d tries for %s reached another host", n, d.prefix)
			}
		}
	})

	t.Run("a failing host's try is retried on the other host, then cooled down", func(t *testing.T) {
		failPath(t, p.Server, "/p1/", 500, "down")
		defer p.ClearRules()
		waitForMinuteLeft(15 * time.Second) // failures are counted per minute
		mark := logMark(g)
		retried := false
		for i := 0; i < 60 && p.at("127.0.2.1", "/p1/", "k-p1") < 2; i++ {
			r := send(g.URL, chatBody("pair", "r"+strconv.Itoa(i)))
			if r.code != 200 || r.hdr.Get("x-litellm-model-id") != "p2" {
				t.Fatalf("pair: %v %v", r, r.hdr)
			}
			retried = retried || r.hdr.Get("x-litellm-attempted-retries") == "1"
		}
		if p.at("127.0.2.1", "/p1/", "k-p1") < 2 || !retried {
			t.Fatalf("p1 tried %d times at 127.0.2.1, a retry onto p2 seen: %v", p.at("127.0.2.1", "/p1/", "k-p1"), retried)
		}
		waitCooling(t, g, "pair", mark)
		cooled := p.at("127.0.2.1", "/p1/", "k-p1")
		for i := 0; i < 10; i++ {
			if r := send(g.URL, chatBody("pair", "c"+strconv.Itoa(i))); r.code != 200 || r.hdr.Get("x-litellm-model-id") != "p2" || r.hdr.Get("x-litellm-attempted-retries") != "0" {
				t.Fatalf("pair during p1's cooldown: %v %v", r, r.hdr)
			}
		}
		if n := p.at("127.0.2.1", "/p1/", "k-p1"); n != cooled {
			t.Errorf("p1 got %d tries during its cooldown", n-cooled)
		}
		if p.wrong("127.0.2.1", "/p1/")+p.wrong("127.0.2.2", "/p2/") != 0 {
			t.Errorf("a pair try reached another host: %v", p.seen)
		}
	})

	t.Run("a reload moves a host during a request: no key reaches another host", func(t *testing.T) {
		// ra fails slowly; meanwhile rb moves from 127.0.2.5 to 127.0.2.6.
		// The plan's hosts (127.0.2.1, 127.0.2.5, 127.0.2.4) were written
		// before: Envoy skips 127.0.2.5, which the cluster no longer has, and
		// picks 127.0.2.4 (rc's) for rb's try — the module refuses that try
		// before anything is sent, and rc's try finds no host left.
		must(t, p.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/ra/"}, Fault: fakeprovider.Fault{Status: 500, ErrorMessage: "down", Delay: 6 * time.Second}}))
		defer p.ClearRules()
		done := make(chan reply, 1)
		start := time.Now()
		go func() { done <- send(g.URL, chatBody("ra", "moved")) }()
		for p.at("127.0.2.1", "/ra/", "k-ra") == 0 {
			if time.Since(start) > 3*time.Second {
				t.Fatal("ra's try did not arrive")
			}
			time.Sleep(10 * time.Millisecond)
		}
		g.WriteConfig(conf("127.0.2.6", true))
		for {
			if r := send(g.URL, chatBody("probe", "p")); r.code == 200 {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatal("the reload was not served within 5 s (ra fails at 6 s)")
			}
			time.Sleep(50 * time.Millisecond)
		}
		r := <-done
		if r.code == 200 {
			t.Errorf("ra → rb → rc answered 200 after rb moved: %v %v", r, r.hdr)
		}
		if !strings.Contains(string(r.body), `"error"`) {
			t.Errorf("not an OpenAI error: %v", r)
		}
		if n := p.at("127.0.2.4", "/rb/", "k-rb"); n != 0 {
			t.Errorf("rb's key reached rc's host %d times", n)
		}
		if n := p.wrong("127.0.2.5", "/rb/") + p.wrong("127.0.2.4", "/rc/"); n != 0 {
			t.Errorf("%d tries reached another host: %v", n, p.seen)
		}
		if r := send(g.URL, chatBody("rb", "after")); r.code != 200 || p.at("127.0.2.6", "/rb/", "k-rb") != 1 {
			t.Errorf("rb after its move: %v, %d at 127.0.2.6", r, p.at("127.0.2.6", "/rb/", "k-rb"))
		}
	})
}
