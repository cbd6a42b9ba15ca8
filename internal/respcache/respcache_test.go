package respcache

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
)

func TestKey(t *testing.T) {
	base := `{"model":"alias","messages":[{"role":"user","content":"hi"}],"temperature":0.2}`
	k := Key("group", []byte(base), "")
	for _, tc := range []struct {
		name, body, group, ns string
		same                  bool
	}{
		{"same request", base, "group", "", true},
		{"fields in another order, other spacing", `{ "temperature": 0.2, "messages": [ {"role": "user", "content": "hi"} ], "model": "x" }`, "group", "", true},
		{"LiteLLM's own fields are not params", `{"model":"alias","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"metadata":{"a":1},"cache":{"ttl":5},"fallbacks":["b"]}`, "group", "", true},
		{"a null param is left out", `{"model":"alias","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"seed":null}`, "group", "", true},
		{"another temperature", `{"model":"alias","messages":[{"role":"user","content":"hi"}],"temperature":0.3}`, "group", "", false},
		{"another message", `{"model":"alias","messages":[{"role":"user","content":"ho"}],"temperature":0.2}`, "group", "", false},
		{"another group", base, "other", "", false},
		{"stream", `{"model":"alias","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"stream":true}`, "group", "", false},
		{"user", `{"model":"alias","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"user":"u"}`, "group", "", false},
	} {
		got := Key(tc.group, []byte(tc.body), tc.ns)
		if (got == k) != tc.same {
			t.Errorf("%s: key %s vs %s, want same=%v", tc.name, got, k, tc.same)
		}
	}
	if got := Key("group", []byte(base), "ns"); got != "ns:"+k {
		t.Errorf("namespaced key = %q, want ns:%s", got, k)
	}
	// "model: group" then the params by name: LiteLLM's "name: value" form.
	if want := Key("g", []byte(`{"prompt":"p"}`), ""); want == Key("g", []byte(`{"prompt":"\"p\""}`), "") {
		t.Errorf("a string's text and its JSON form gave one key")
	}
}

func TestDecide(t *testing.T) {
	on, _ := open(Params{Type: "local", DefaultOn: true, CallTypes: "acompletion,completion", Namespace: "def", TTL: time.Minute}, nil, time.Now)
	off, _ := open(Params{Type: "local", CallTypes: "acompletion,atext_completion"}, nil, time.Now)
	for _, tc := range []struct {
		name     string
		c        *Cache
		ep, body string
		ok       bool
		want     Decision
	}{
		{"default_on", on, Chat, `{"messages":[]}`, true, Decision{Read: true, Store: true, TTL: time.Minute}},
		{"text completion not in the call types", on, Completions, `{"prompt":"x"}`, false, Decision{}},
		{"embeddings never", on, "embeddings", `{"input":"x"}`, false, Decision{}},
		{"no-cache, no-store", on, Chat, `{"cache":{"no-cache":true,"no-store":true}}`, true, Decision{TTL: time.Minute}},
		{"only JSON true counts", on, Chat, `{"cache":{"no-cache":"yes","no-store":1}}`, true, Decision{Read: true, Store: true, TTL: time.Minute}},
		{"ttl and s-maxage", on, Chat, `{"cache":{"ttl":2.5,"s-maxage":3}}`, true, Decision{Read: true, Store: true, TTL: 2500 * time.Millisecond, MaxAge: 3 * time.Second}},
		{"s-max-age", on, Chat, `{"cache":{"s-max-age":4}}`, true, Decision{Read: true, Store: true, TTL: time.Minute, MaxAge: 4 * time.Second}},
		{"ttl out of bounds", on, Chat, `{"cache":{"ttl":-1}}`, false, Decision{}},
		{"ttl not a number", on, Chat, `{"cache":{"ttl":"5"}}`, false, Decision{}},
		{"ttl too long", on, Chat, `{"cache":{"ttl":1e12}}`, false, Decision{}},
		{"namespace too long", on, Chat, `{"cache":{"namespace":"` + strings.Repeat("n", 300) + `"}}`, false, Decision{}},
		{"default_off without use-cache", off, Chat, `{"messages":[]}`, false, Decision{}},
		{"default_off with use-cache", off, Completions, `{"cache":{"use-cache":true}}`, true, Decision{Read: true, Store: true}},
	} {
		d, ok := tc.c.Decide(tc.ep, "g", []byte(tc.body))
		if ok != tc.ok {
			t.Errorf("%s: ok = %v, want %v", tc.name, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		d.Key = ""
		if !reflect.DeepEqual(d, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, d, tc.want)
		}
	}
	d, _ := on.Decide(Chat, "g", []byte(`{"cache":{"namespace":"mine"}}`))
	if !strings.HasPrefix(d.Key, "mine:") {
		t.Errorf("the request's namespace: key %q", d.Key)
	}
	d, _ = on.Decide(Chat, "g", []byte(`{"metadata":{"redis_namespace":"old"}}`))
	if !strings.HasPrefix(d.Key, "old:") {
		t.Errorf("metadata.redis_namespace: key %q", d.Key)
	}
	d, _ = on.Decide(Chat, "g", []byte(`{}`))
	if !strings.HasPrefix(d.Key, "def:") {
		t.Errorf("cache_params.namespace: key %q", d.Key)
	}
}

// TestLocal: LiteLLM's in-memory cache: the default ttl of 600 s, a
// request's ttl, s-maxage, at most 200 entries (the soonest to expire go
// first), none above 1 MB.
func TestLocal(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c, _ := open(Params{Type: "local", DefaultOn: true, CallTypes: "completion"}, nil, func() time.Time { return now })
	ctx := context.Background()
	d := func(key string, ttl time.Duration) Decision {
		return Decision{Key: key, Read: true, Store: true, TTL: ttl}
	}
	c.Put(d("a", 0), false, []byte("A"))
	c.Put(d("b", 5*time.Second), true, []byte("B"))
	if e, ok := c.Get(ctx, d("a", 0)); !ok || string(e.Body) != "A" || e.Stream {
		t.Fatalf("a: %+v %v", e, ok)
	}
	now = now.Add(6 * time.Second)
	if _, ok := c.Get(ctx, d("b", 0)); ok {
		t.Errorf("b outlived its ttl of 5 s")
	}
	if _, ok := c.Get(ctx, Decision{Key: "a", Read: true, MaxAge: 5 * time.Second}); ok {
		t.Errorf("s-maxage 5 took a 6 s old entry")
	}
	if _, ok := c.Get(ctx, Decision{Key: "a", Read: false}); ok {
		t.Errorf("no-cache read the entry")
	}
	now = now.Add(594 * time.Second)
	if _, ok := c.Get(ctx, d("a", 0)); ok {
		t.Errorf("a outlived the default ttl of 600 s")
	}
	c.Put(Decision{Key: "nostore", Read: true}, false, []byte("x"))
	if _, ok := c.Get(ctx, d("nostore", 0)); ok {
		t.Errorf("no-store stored")
	}
	c.Put(d("big", 0), false, make([]byte, 1<<20+1))
	if _, ok := c.Get(ctx, d("big", 0)); ok {
		t.Errorf("an entry above 1 MB was kept")
	}
	c.Put(d("soon", time.Second), false, []byte("s"))
	for i := range 200 {
		c.Put(d(string(rune('A'+i%26))+string(rune('a'+i/26)), time.Hour), false, []byte("x"))
	}
	if _, ok := c.Get(ctx, d("soon", 0)); ok {
		t.Errorf("201 entries: the one expiring soonest was kept")
	}
	if n, _ := c.Flush(ctx); n != 200 {
		t.Errorf("flush removed %d entries, want 200", n)
	}
}

// TestParamsOfTopologies: LiteLLM's order: startup nodes make a cluster
// cache (over sentinels and host), sentinel nodes with a service a
// sentinel cache whose master password falls back to the sentinels'.
func TestParamsOfTopologies(t *testing.T) {
	cfg := &config.Config{}
	cfg.LiteLLM.Cache = true
	cp := &cfg.LiteLLM.CacheParams
	cp.Type, cp.Host = "redis", "h"
	cp.StartupNodes = []string{"a:1", "b:2"}
	cp.SentinelNodes, cp.ServiceName, cp.SentinelPassword = []string{"s:3"}, "m", "spw"
	p, ok := ParamsOf(cfg, [4]string{})
	if !ok || p.Cluster != "a:1,b:2" || p.Sentinels != "" || p.Addr != "" {
		t.Errorf("cluster: %+v", p)
	}
	cp.StartupNodes = nil
	p, _ = ParamsOf(cfg, [4]string{})
	if p.Sentinels != "s:3" || p.Service != "m" || p.SentinelPassword != "spw" || p.Password != "spw" || p.Addr != "" {
		t.Errorf("sentinel: %+v", p)
	}
	cp.Password = "mpw"
	if p, _ = ParamsOf(cfg, [4]string{}); p.Password != "mpw" {
		t.Errorf("sentinel with a master password: %+v", p)
	}
	cp.SentinelNodes = nil
	if p, _ = ParamsOf(cfg, [4]string{}); p.Addr != "h:6379" || p.Sentinels != "" {
		t.Errorf("host: %+v", p)
	}
}

func TestCachingGroup(t *testing.T) {
	groups := [][]string{{"gpt-a", "gpt-b"}, {"it's"}}
	for _, tc := range []struct{ in, want string }{
		{"gpt-b", "['gpt-a', 'gpt-b']"},
		{"gpt-c", "gpt-c"},
		{"it's", `["it's"]`},
	} {
		if got := CachingGroup(groups, tc.in); got != tc.want {
			t.Errorf("CachingGroup(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
