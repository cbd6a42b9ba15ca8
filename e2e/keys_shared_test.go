package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

// redisRouterSettings is the config's router_settings naming one Redis
// (host and port of addr).
func redisRouterSettings(addr string) string {
	host, port, _ := strings.Cut(addr, ":")
	return fmt.Sprintf("router_settings:\n  redis_host: %s\n  redis_port: %s\n", host, port)
}

// keysOnSharedRedis starts two llmgate instances with virtual keys on one
// PostgreSQL database and one Redis (each with its own data directory,
// user_api_key_cache_ttl: 1, args for both), against one fake provider.
func keysOnSharedRedis(t *testing.T, args []string) (ga, gb *Gateway) {
	t.Helper()
	rd := redistest.StartServer(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	url := pgtest.Start(t).NewDatabase(t)
	cfg := keysConfig(fake.URL(), url) + "  user_api_key_cache_ttl: 1\n" + redisRouterSettings(rd.Addr())
	ga = startGatewayArgs(t, cfg, args, "LLMGATE_DATA_DIR="+t.TempDir())
	gb = startGatewayArgs(t, cfg, args, "LLMGATE_DATA_DIR="+t.TempDir())
	return ga, gb
}
