package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

// cacheKeysOn counts the response cache's entries held by one Redis (not
// /cache/ping's short-lived probe key).
func cacheKeysOn(t *testing.T, addr string) int {
	t.Helper()
	out, err := redistest.Do(addr, "KEYS", "llmgate:cache:*")
	if err != nil {
		t.Fatalf("KEYS on %s: %v", addr, err)
	}
	n := 0
	for k := range strings.Lines(out) {
		if !strings.Contains(k, "llmgate-ping") {
			n++
		}
	}
	return n
}

// TestResponseCacheRedisCluster: cache_params.redis_startup_nodes (a real
// 3-node Redis Cluster, one startup node named): answers are stored across
// the nodes and served from the cluster through the real Envoy with
// openai-go; /cache/ping names the nodes; /cache/flushall empties every
// node. REDIS_CLUSTER_NODES does the same from the environment.
func TestResponseCacheRedisCluster(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	nodes := redistest.StartCluster(t, 3)
	host, port, _ := strings.Cut(nodes[1].Addr(), ":")
	for _, tc := range []struct {
		name, params string
		env          []string
	}{
		{"config", fmt.Sprintf("    type: redis\n    redis_startup_nodes: [{host: %q, port: %q}]", host, port), nil},
		{"env", "    type: redis", []string{fmt.Sprintf(`REDIS_CLUSTER_NODES=[{"host": %q, "port": %s}]`, host, port)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, cacheConfig(fake.URL(), tc.params), tc.env...)
			c := newClient(g, master)
			fake.Reset()
			var misses int64
			const n = 8
			for i := range n {
				prompt := fmt.Sprintf("%s cluster %d", tc.name, i)
				content, _, _ := cachedChat(t, c, "cached", prompt)
				content2, _, key := waitHit(t, c, &misses, "cached", prompt)
				if key == "" || content2 != content {
					t.Fatalf("%q: no hit from the cluster (key %q, %q vs %q)", prompt, key, content2, content)
				}
			}
			if got := fake.Count("/cached/") - misses; got != n {
				t.Errorf("the provider was called %d times, want %d (one per prompt)", got, n)
			}
			holding, total := 0, 0
			for _, s := range nodes {
				k := cacheKeysOn(t, s.Addr())
				total += k
				if k > 0 {
					holding++
				}
			}
			if total < n || holding < 2 {
				t.Errorf("%d entries on %d nodes; want %d entries spread over the cluster's nodes", total, holding, n)
			}
			code, _, body := do(t, "GET", g.URL+"/cache/ping", master, "")
			if code != 200 || !strings.Contains(string(body), `"startup_nodes":["`+nodes[1].Addr()+`"]`) {
				t.Errorf("/cache/ping: %d %s", code, body)
			}
			code, _, body = do(t, "POST", g.URL+"/cache/flushall", master, "")
			if code != 200 {
				t.Fatalf("/cache/flushall: %d %s", code, body)
			}
			for _, s := range nodes {
				if k := cacheKeysOn(t, s.Addr()); k != 0 {
					t.Errorf("%s holds %d entries after /cache/flushall", s.Addr(), k)
				}
			}
		})
	}
}

// TestResponseCacheRedisSentinel: cache_params.sentinel_nodes with
// service_name and sentinel_password (a real master, its replica and a
// sentinel with a password): an answer is stored on the master and served
// through the real Envoy with openai-go; after the sentinel promotes the
// replica, the stored answer still hits and new answers are stored on the
// new master.
func TestResponseCacheRedisSentinel(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	const pw = "s3ntinel"
	sn := redistest.StartSentinel(t, "mymaster", pw)
	host, port, _ := strings.Cut(sn.Sentinel.Addr(), ":")
	params := fmt.Sprintf("    type: redis\n    sentinel_nodes: [[%q, %s]]\n    service_name: mymaster\n    sentinel_password: %s", host, port, pw)
	g := startGateway(t, cacheConfig(fake.URL(), params))
	c := newClient(g, master)
	var misses int64
	content, _, _ := cachedChat(t, c, "cached", "before failover")
	if _, _, key := waitHit(t, c, &misses, "cached", "before failover"); key == "" {
		t.Fatalf("no hit through the sentinel's master")
	}
	if k := cacheKeysOn(t, sn.Master.Addr()); k != 1 {
		t.Errorf("the master holds %d entries, want 1", k)
	}
	code, _, body := do(t, "GET", g.URL+"/cache/ping", master, "")
	if code != 200 || !strings.Contains(string(body), `"service_name":"mymaster"`) || strings.Contains(string(body), pw) {
		t.Errorf("/cache/ping: %d %s", code, body)
	}

	sn.Failover(t, pw)
	content2, _, key := waitHit(t, c, &misses, "cached", "before failover")
	if key == "" || content2 != content {
		t.Errorf("after the failover the stored answer missed (key %q, %q vs %q)", key, content2, content)
	}
	content, _, _ = cachedChat(t, c, "cached", "after failover")
	content2, _, key = waitHit(t, c, &misses, "cached", "after failover")
	if key == "" || content2 != content {
		t.Errorf("after the failover a new answer was not stored (key %q)", key)
	}
	if k := cacheKeysOn(t, sn.Replica.Addr()); k != 2 {
		t.Errorf("the promoted replica holds %d entries, want 2", k)
	}
	if got := fake.Count("/cached/") - misses; got != 2 {
		t.Errorf("the provider was called %d times, want 2", got)
	}
}
