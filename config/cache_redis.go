package config

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxRedisNodes bounds redis_startup_nodes and sentinel_nodes.
const maxRedisNodes = 64

// redisNodes reads redis_startup_nodes ({"host", "port"} objects, as
// LiteLLM's ClusterNode(**item)) or sentinel_nodes ([host, port] pairs, as
// redis-py's Sentinel) into host:port addresses. A string value is the same
// list as JSON (os.environ/REDIS_CLUSTER_NODES, as LiteLLM json.loads it).
func (p *parser) redisNodes(n *yaml.Node, key string, pairs bool) []string {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		out, err := redisNodesJSON(n.Value, pairs)
		if err != nil {
			p.errAt(n, key, "%v", err)
		}
		return out
	}
	items, ok := p.sequence(n, key)
	if !ok {
		return nil
	}
	var out []string
	for i, it := range items {
		ik := fmt.Sprintf("%s[%d]", key, i)
		var host, port string
		it = deref(it)
		switch {
		case !pairs && it.Kind == yaml.MappingNode:
			es, _ := p.mapping(it, ik)
			for _, e := range es {
				switch e.Key {
				case "host":
					host, _ = p.str(e.Value, ik+".host")
				case "port":
					port, _ = p.port(e.Value, ik+".port")
				default:
					p.warnAt(e.KeyNode, ik+"."+e.Key, "ignored (a node is its host and port)")
				}
			}
		case pairs && it.Kind == yaml.SequenceNode && len(it.Content) == 2:
			host, _ = p.str(it.Content[0], ik)
			port, _ = p.port(it.Content[1], ik)
		default:
			want := `{"host": ..., "port": ...}`
			if pairs {
				want = "[host, port]"
			}
			p.errAt(it, ik, "must be %s, got %s", want, p.describe(it))
			continue
		}
		if host == "" || port == "" {
			p.errAt(it, ik, "needs a host and a port")
			continue
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	if len(out) > maxRedisNodes {
		p.errAt(n, key, "at most %d nodes, got %d", maxRedisNodes, len(out))
		return nil
	}
	return out
}

// redisNodesJSON reads the JSON form of a node list (REDIS_CLUSTER_NODES:
// [{"host": "h", "port": 7001}], REDIS_SENTINEL_NODES: [["h", 26379]]).
func redisNodesJSON(s string, pairs bool) ([]string, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("must be a JSON list of nodes: %v", err)
	}
	if len(raw) > maxRedisNodes {
		return nil, fmt.Errorf("at most %d nodes, got %d", maxRedisNodes, len(raw))
	}
	out := make([]string, 0, len(raw))
	for i, r := range raw {
		var host string
		var port any
		if pairs {
			var pr []any
			if json.Unmarshal(r, &pr) != nil || len(pr) != 2 {
				return nil, fmt.Errorf("node %d must be [host, port]", i)
			}
			host, _ = pr[0].(string)
			port = pr[1]
		} else {
			var m struct {
				Host string `json:"host"`
				Port any    `json:"port"`
			}
			if json.Unmarshal(r, &m) != nil {
				return nil, fmt.Errorf(`node %d must be {"host": ..., "port": ...}`, i)
			}
			host, port = m.Host, m.Port
		}
		ps := ""
		switch v := port.(type) {
		case float64:
			ps = strconv.FormatFloat(v, 'f', -1, 64)
		case string:
			ps = strings.TrimSpace(v)
		}
		if x, err := strconv.Atoi(ps); host == "" || err != nil || x < 1 || x > 65535 {
			return nil, fmt.Errorf("node %d needs a host and a port (1-65535)", i)
		}
		out = append(out, net.JoinHostPort(host, ps))
	}
	return out, nil
}

// cacheRedisEnv fills the cache's cluster and sentinel settings from the
// variables LiteLLM's redis client reads when cache_params leaves them out
// (REDIS_CLUSTER_NODES, REDIS_SENTINEL_NODES, REDIS_SERVICE_NAME,
// REDIS_SENTINEL_PASSWORD), and checks that sentinel nodes have a service.
func (p *parser) cacheRedisEnv(cp *CacheParams) {
	get := func(name string) string { v, _ := p.lookup(name); return v }
	if cp.StartupNodes == nil {
		if v := get("REDIS_CLUSTER_NODES"); v != "" {
			nodes, err := redisNodesJSON(v, false)
			if err != nil {
				p.errAt(nil, "REDIS_CLUSTER_NODES", "%v", err)
			}
			cp.StartupNodes = nodes
		}
	}
	if cp.SentinelNodes == nil {
		if v := get("REDIS_SENTINEL_NODES"); v != "" {
			nodes, err := redisNodesJSON(v, true)
			if err != nil {
				p.errAt(nil, "REDIS_SENTINEL_NODES", "%v", err)
			}
			cp.SentinelNodes = nodes
		}
	}
	if cp.ServiceName == "" {
		cp.ServiceName = get("REDIS_SERVICE_NAME")
	}
	if cp.SentinelPassword == "" {
		cp.SentinelPassword = get("REDIS_SENTINEL_PASSWORD")
	}
	if len(cp.StartupNodes) == 0 && len(cp.SentinelNodes) > 0 && cp.ServiceName == "" {
		p.errAt(nil, "litellm_settings.cache_params.sentinel_nodes", "needs service_name (the master's name, or REDIS_SERVICE_NAME), as LiteLLM's Redis Sentinel client")
	}
}

// cachingGroups reads router_settings.caching_groups: lists of model group
// names (LiteLLM's tuples) whose requests share the response cache.
func (p *parser) cachingGroups(n *yaml.Node, key string) [][]string {
	items, ok := p.sequence(n, key)
	if !ok {
		return nil
	}
	var out [][]string
	for i, it := range items {
		g, ok := p.strList(it, fmt.Sprintf("%s[%d]", key, i))
		if ok && len(g) > 0 {
			out = append(out, g)
		}
	}
	return out
}
