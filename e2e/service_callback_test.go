package e2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

// TestServiceCallbackPrometheusSystem (D98): with service_callback:
// ["prometheus_system"], a gateway on a real Redis (usage-based routing)
// and a real PostgreSQL (virtual keys, spend) shows LiteLLM's service
// metrics to a real Prometheus server: litellm_self_* counts each
// successful LLM call (not the failed one), litellm_redis_* and
// litellm_postgres_* the gateway's calls to them, and once Redis is stopped
// its failed calls as ConnectionError while requests still succeed. The
// gateway port's /metrics (behind the key) serves them too.
func TestServiceCallbackPrometheusSystem(t *testing.T) {
	promBin := needPrometheus(t)
	rd := redistest.StartServer(t)
	dbURL := pgtest.Start(t).NewDatabase(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(rd.Addr())
	cfg := fmt.Sprintf(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good/v1, api_key: k, rpm: 1000}
  - model_name: bad
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/bad/v1, api_key: k}
router_settings:
  routing_strategy: usage-based-routing-v2
  redis_host: %[3]s
  redis_port: %[4]s
  num_retries: 0
litellm_settings:
  service_callback: ["prometheus_system"]
general_settings:
  master_key: %[2]s
  database_url: %[5]s
  proxy_batch_write_at: 1
`, fake.URL(), master, host, port, dbURL)
	metricsPort := freePort(t)
	g := startGateway(t, cfg, "PROMETHEUS_METRICS_PORT="+strconv.Itoa(metricsPort))
	prom := startPrometheus(t, promBin, fmt.Sprintf("127.0.0.1:%d", metricsPort))

	vkey, _ := keyAPI{t, g}.generate(`{}`)
	client := func(key string) *openai.Client {
		c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0),
			option.WithRequestTimeout(30*time.Second))
		return &c
	}
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("service metrics")}
	for _, key := range []string{master, vkey, vkey} {
		if _, err := client(key).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "good", Messages: msgs}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client(master).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bad", Messages: msgs}); err == nil {
		t.Fatal("bad: no error")
	}
	promAgrees(t, prom, map[string]float64{
		`sum(litellm_self_total_requests_total{self="self"})`:                 3,
		`sum(litellm_self_latency_count{self="self"})`:                        3,
		`count(litellm_self_failed_requests_total)`:                           0,
		`sum(litellm_redis_total_requests_total{redis="redis"}) > 0`:          1,
		`sum(litellm_redis_latency_count{redis="redis"}) > 0`:                 1,
		`sum(litellm_postgres_total_requests_total{postgres="postgres"}) > 0`: 1,
		`sum(litellm_postgres_latency_count{postgres="postgres"}) > 0`:        1,
	})
	st, _, body := do(t, "GET", g.URL+"/metrics", master, "")
	if st != 200 || !strings.Contains(string(body), "litellm_self_total_requests_total") || !strings.Contains(string(body), "# TYPE litellm_redis_latency histogram") {
		t.Fatalf("gateway port /metrics: %d, no service metrics:\n%.2000s", st, body)
	}

	rd.Stop()
	for range 2 {
		if _, err := client(master).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "good", Messages: msgs}); err != nil {
			t.Fatalf("with Redis stopped: %v", err)
		}
	}
	promAgrees(t, prom, map[string]float64{
		`sum(litellm_redis_failed_requests_total{redis="redis",error_class="ConnectionError"}) > 0`: 1,
		`sum(litellm_self_total_requests_total)`:                                                    5,
	})
}
