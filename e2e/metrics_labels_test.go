package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestPrometheusCustomLabels (D91): with custom_prometheus_metadata_labels
// and custom_prometheus_tags, a real Prometheus server scraping the
// gateway's metrics listener sees LiteLLM's request metrics labelled as
// LiteLLM labels them: metadata_<field> from the request's metadata, the
// key's metadata winning over it; tag_<tag> "true"/"false" from the
// request's own tags (x-litellm-tags, metadata.tags), its key's tags and the
// User-Agent tags (a wildcard); x-litellm-spend-logs-metadata winning over
// the key's metadata (D98). Module mode (a plain body with the tags
// header is served by the module; a body with metadata by ext_proc) and
// ext_proc mode.
func TestPrometheusCustomLabels(t *testing.T) {
	for _, mode := range []string{"module", "extproc"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("LLMGATE_REQUEST_FILTER", mode)
			g, prom := labelsGateway(t, `  custom_prometheus_metadata_labels: ["metadata.department", "metadata.env"]
  custom_prometheus_tags: ["team-a", "key-tag", "User-Agent: OpenAI/*", "never"]
`)
			vkey, _ := keyAPI{t, g}.generate(`{"metadata": {"department": "key-dept", "tags": ["key-tag"]}}`)

			ctx := context.Background()
			msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("label me")}
			send := func(key, model string, md map[string]string, tags string) error {
				client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0),
					option.WithRequestTimeout(30*time.Second))
				opts := []option.RequestOption{}
				if tags != "" {
					opts = append(opts, option.WithHeader("x-litellm-tags", tags))
				}
				_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model, Messages: msgs, Metadata: md}, opts...)
				return err
			}
			// 2 × the virtual key with metadata and the tags header.
			for range 2 {
				if err := send(vkey, "good", map[string]string{"department": "req-dept", "env": "prod-eu"}, "team-a"); err != nil {
					t.Fatal(err)
				}
			}
			// 3 × the master key, a plain body with the tags header.
			for range 3 {
				if err := send(master, "good", nil, "team-a"); err != nil {
					t.Fatal(err)
				}
			}
			// 1 × the virtual key with x-litellm-spend-logs-metadata: its
			// department wins over the key's (D98).
			{
				client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(vkey), option.WithMaxRetries(0),
					option.WithRequestTimeout(30*time.Second))
				if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "good", Messages: msgs, Metadata: map[string]string{"env": "prod-eu"}},
					option.WithHeader("x-litellm-spend-logs-metadata", `{"department": "spend-dept"}`)); err != nil {
					t.Fatal(err)
				}
			}
			// 1 × the master key, metadata without the tag, failing (500).
			if err := send(master, "bad", map[string]string{"env": "staging"}, ""); err == nil {
				t.Fatal("bad: no error")
			}

			want := map[string]float64{
				`sum(litellm_proxy_total_requests_metric_total{metadata_department="key-dept",metadata_env="prod-eu",tag_team_a="true",tag_key_tag="true",tag_User_Agent__OpenAI__="true",tag_never="false"})`:     2,
				`sum(litellm_proxy_total_requests_metric_total{metadata_department="",metadata_env="",tag_team_a="true",tag_key_tag="false",tag_User_Agent__OpenAI__="true",tag_never="false",status_code="200"})`: 3,
				`sum(litellm_proxy_failed_requests_metric_total{metadata_env="staging",tag_team_a="false",tag_User_Agent__OpenAI__="true"})`:                                                                       1,
				`sum(litellm_deployment_failure_responses_total{metadata_env="staging",tag_team_a="false"})`:                                                                                                       1,
				`sum(litellm_deployment_success_responses_total{metadata_department="key-dept",tag_key_tag="true"})`:                                                                                               2,
				`sum(litellm_llm_api_latency_metric_count{metadata_env="prod-eu",tag_team_a="true"})`:                                                                                                              2,
				`sum(litellm_request_total_latency_metric_count{tag_team_a="true"})`:                                                                                                                               5,
				`sum(litellm_total_tokens_metric_total{metadata_department="key-dept"}) > 0`:                                                                                                                       1,
				`count(litellm_deployment_state{tag_team_a!=""})`:                                                                                                                                                  0,
				`sum(litellm_proxy_total_requests_metric_total{metadata_department="spend-dept",metadata_env="prod-eu",tag_key_tag="true"})`:                                                                       1,
			}
			promAgrees(t, prom, want)
		})
	}
}

// promAgrees waits (60 s at most) until every query of want answers its
// value on the real Prometheus server: a "count(…)" without series counts
// 0, a "… > 0" query counts 1 when it answers.
func promAgrees(t *testing.T, prom *promServer, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var diffs []string
		for q, w := range want {
			got, ok := prom.query(t, q)
			if strings.HasSuffix(q, "> 0") && ok {
				got = 1
			}
			if strings.HasPrefix(q, "count(") && !ok {
				got, ok = 0, true // no series at all
			}
			if !ok || got != w {
				diffs = append(diffs, fmt.Sprintf("%s = %v (present %v), want %v", q, got, ok, w))
			}
		}
		if len(diffs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus disagrees:\n%s", strings.Join(diffs, "\n"))
		}
		time.Sleep(time.Second)
	}
}

// labelsGateway starts the metrics config (a good and a failing group)
// with settings added to its litellm_settings (prometheus alone as
// callback), and a real Prometheus server scraping its metrics listener.
func labelsGateway(t *testing.T, settings string) (*Gateway, *promServer) {
	t.Helper()
	promBin := needPrometheus(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	metricsPort := freePort(t)
	cfg := strings.Replace(metricsConfig(fake.URL()), `  callbacks: ["prometheus", "generic_api"]`, `  callbacks: ["prometheus"]
`+strings.TrimSuffix(settings, "\n"), 1)
	g := startGateway(t, cfg, "PROMETHEUS_METRICS_PORT="+strconv.Itoa(metricsPort))
	return g, startPrometheus(t, promBin, fmt.Sprintf("127.0.0.1:%d", metricsPort))
}

// TestPrometheusMetricsConfig (D91): with prometheus_metrics_config only the
// metrics listed are scraped, with the labels their group keeps (series
// that differ in a label left out add up), and prometheus_emit_stream_label
// splits litellm_proxy_total_requests_metric by stream.
func TestPrometheusMetricsConfig(t *testing.T) {
	g, prom := labelsGateway(t, `  prometheus_emit_stream_label: true
  prometheus_metrics_config:
    - group: client
      metrics: [litellm_proxy_total_requests_metric]
      include_labels: [requested_model, status_code, stream]
    - group: deployments
      metrics: [litellm_deployment_state]
`)
	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0),
		option.WithRequestTimeout(30*time.Second))
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("filter me")}
	for i := range 2 {
		// Different end users: the series add up once end_user is left out.
		if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "good", Messages: msgs,
			User: openai.String(fmt.Sprint("user-", i))}); err != nil {
			t.Fatal(err)
		}
	}
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "good", Messages: msgs})
	for stream.Next() {
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bad", Messages: msgs}); err == nil {
		t.Fatal("bad: no error")
	}
	promAgrees(t, prom, map[string]float64{
		`sum(litellm_proxy_total_requests_metric_total{stream="False",status_code="200",requested_model="good"})`:                                                                 2,
		`sum(litellm_proxy_total_requests_metric_total{stream="True",status_code="200"})`:                                                                                         1,
		`sum(litellm_proxy_total_requests_metric_total{stream="False",status_code="500",requested_model="bad"})`:                                                                  1,
		`count(litellm_proxy_total_requests_metric_total)`:                                                                                                                        3,
		`count(litellm_proxy_total_requests_metric_total{end_user!=""} or litellm_proxy_total_requests_metric_total{hashed_api_key!=""})`:                                         0,
		`max(litellm_deployment_state{model_id="bad-deployment"})`:                                                                                                                1,
		`count({__name__=~"litellm_spend_metric_total|litellm_input_tokens_metric_total|litellm_deployment_success_responses_total|litellm_request_total_latency_metric_count"})`: 0,
		`count(llmgate_metrics_events_dropped_total)`:                                                                                                                             1, // llmgate's own metrics are not LiteLLM's to filter
	})
}

// TestPrometheusNoEndUser (D91): with
// disable_end_user_cost_tracking_prometheus_only no scraped series carries
// the end user; the requests are all counted.
func TestPrometheusNoEndUser(t *testing.T) {
	g, prom := labelsGateway(t, "  disable_end_user_cost_tracking_prometheus_only: true\n")
	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0),
		option.WithRequestTimeout(30*time.Second))
	for range 2 {
		if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "good",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("who am I")}, User: openai.String("cust-e2e")}); err != nil {
			t.Fatal(err)
		}
	}
	promAgrees(t, prom, map[string]float64{
		`sum(litellm_proxy_total_requests_metric_total)`:                                        2,
		`sum(litellm_input_tokens_metric_total) > 0`:                                            1,
		`count({__name__=~"litellm_.*",end_user!=""})`:                                          0,
		`count(litellm_proxy_total_requests_metric_total{end_user=""})`:                         1,
		`count(litellm_request_total_latency_metric_count{end_user="",requested_model="good"})`: 1,
	})
}
