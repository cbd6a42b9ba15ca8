package config

import (
	"slices"
	"strings"
	"testing"
)

// TestCacheRedisTopologies: redis_startup_nodes ({host, port} objects) and
// sentinel_nodes ([host, port] pairs) with service_name and
// sentinel_password, from the file or from LiteLLM's variables (JSON);
// malformed nodes and sentinel nodes without a service are errors.
func TestCacheRedisTopologies(t *testing.T) {
	cfg := mustParse(t, `litellm_settings:
  cache: true
  cache_params:
    type: redis
    redis_startup_nodes: [{host: 10.0.0.1, port: "7001"}, {host: 10.0.0.2, port: 7002}]
    sentinel_nodes: [["s1", 26379], ["s2", "26380"]]
    service_name: mymaster
    sentinel_password: os.environ/SP
`, env("SP", "secret"))
	cp := cfg.LiteLLM.CacheParams
	if !slices.Equal(cp.StartupNodes, []string{"10.0.0.1:7001", "10.0.0.2:7002"}) ||
		!slices.Equal(cp.SentinelNodes, []string{"s1:26379", "s2:26380"}) || cp.ServiceName != "mymaster" || cp.SentinelPassword != "secret" {
		t.Errorf("cache params = %+v", cp)
	}
	cfg = mustParse(t, "litellm_settings:\n  cache: true\n  cache_params: {type: redis}\n",
		env("REDIS_CLUSTER_NODES", `[{"host": "h1", "port": 7001}, {"host": "h2", "port": "7002"}]`,
			"REDIS_SENTINEL_NODES", `[["s", 26379]]`, "REDIS_SERVICE_NAME", "svc", "REDIS_SENTINEL_PASSWORD", "pw"))
	cp = cfg.LiteLLM.CacheParams
	if !slices.Equal(cp.StartupNodes, []string{"h1:7001", "h2:7002"}) || !slices.Equal(cp.SentinelNodes, []string{"s:26379"}) ||
		cp.ServiceName != "svc" || cp.SentinelPassword != "pw" {
		t.Errorf("cache params from the environment = %+v", cp)
	}
	for _, tc := range []struct{ yml, want string }{
		{"redis_startup_nodes: [[h, 1]]", `must be {"host": ..., "port": ...}`},
		{"redis_startup_nodes: [{host: h}]", "needs a host and a port"},
		{"redis_startup_nodes: [{host: h, port: 70000}]", "port number"},
		{"sentinel_nodes: [{host: h, port: 1}]", "must be [host, port]"},
		{"sentinel_nodes: [[h, 1]]", "needs service_name"},
		{`redis_startup_nodes: "[{\"host\": 1}]"`, "must be"},
	} {
		le := parseErr(t, "litellm_settings:\n  cache: true\n  cache_params:\n    type: redis\n    "+tc.yml+"\n", nil)
		if !strings.Contains(le.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yml, le, tc.want)
		}
	}
}
