package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// metricsConfig: a group that answers and a group whose only deployment
// fails (500), no retries, the prometheus callback and a generic_api one
// (for the dashboard's callback panel).
func metricsConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good/v1, api_key: k}
  - model_name: bad
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/bad/v1, api_key: k}
    model_info: {id: bad-deployment}
router_settings:
  num_retries: 0
litellm_settings:
  callbacks: ["prometheus", "generic_api"]
general_settings:
  master_key: %[2]s
`, fake, master)
}

// TestPrometheusScrapesLiteLLMMetrics: a real Prometheus server scrapes
// the gateway's metrics listener (PROMETHEUS_METRICS_PORT, as LiteLLM)
// while requests go through Envoy with openai-go; its HTTP API then shows
// the request counts, token sums and latency histogram counts that match
// what the fake provider served. The gateway port's /metrics asks for the
// key (require_auth_for_metrics_endpoint defaults to true in LiteLLM).
// With the module request filter (the default) and with ext_proc: every
// query of the shipped Grafana dashboard returns data in both (D64).
func TestPrometheusScrapesLiteLLMMetrics(t *testing.T) {
	for _, mode := range []string{"module", "extproc"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("LLMGATE_REQUEST_FILTER", mode)
			prometheusScrapes(t, mode)
		})
	}
}

func prometheusScrapes(t *testing.T, mode string) {
	promBin := needPrometheus(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(&collector{})
	defer hook.Close()
	metricsPort := freePort(t)
	g := startGateway(t, metricsConfig(fake.URL()), "PROMETHEUS_METRICS_PORT="+strconv.Itoa(metricsPort),
		"GENERIC_LOGGER_ENDPOINT="+hook.URL, "DEFAULT_FLUSH_INTERVAL_SECONDS=0.2")
	prom := startPrometheus(t, promBin, fmt.Sprintf("127.0.0.1:%d", metricsPort))

	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0),
		option.WithRequestTimeout(30*time.Second))
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("how many tokens is this prompt?")}
	var prompt, completion, total int64
	const plain, streams, failures = 5, 2, 3
	for i := 0; i < plain; i++ {
		params := openai.ChatCompletionNewParams{Model: "good", Messages: msgs, MaxTokens: openai.Int(int64(5 + i))}
		if i == 0 {
			// A body with metadata: the module hands it on to ext_proc
			// (D54), so module mode has ext_proc streams too.
			params.Metadata = map[string]string{"purpose": "hand-on"}
		}
		resp, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		prompt, completion, total = prompt+resp.Usage.PromptTokens, completion+resp.Usage.CompletionTokens, total+resp.Usage.TotalTokens
	}
	for i := 0; i < streams; i++ {
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "good", Messages: msgs,
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		var usage openai.CompletionUsage
		for stream.Next() {
			if c := stream.Current(); c.JSON.Usage.Valid() && c.Usage.TotalTokens > 0 {
				usage = c.Usage
			}
		}
		if err := stream.Err(); err != nil || usage.TotalTokens == 0 {
			t.Fatalf("stream %d: %v, usage %+v", i, err, usage)
		}
		prompt, completion, total = prompt+usage.PromptTokens, completion+usage.CompletionTokens, total+usage.TotalTokens
	}
	for i := 0; i < failures; i++ {
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bad", Messages: msgs})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
			t.Fatalf("bad request %d: %v, want a 500", i, err)
		}
	}
	if prompt == 0 || completion == 0 {
		t.Fatalf("the fake provider served no usage: %d/%d", prompt, completion)
	}

	want := map[string]float64{
		`sum(litellm_proxy_total_requests_metric_total)`:                                                plain + streams + failures,
		`sum(litellm_proxy_total_requests_metric_total{status_code="200"})`:                             plain + streams,
		`sum(litellm_proxy_failed_requests_metric_total)`:                                               failures,
		`sum(litellm_proxy_failed_requests_metric_total{exception_status="500",requested_model="bad"})`: failures,
		`sum(litellm_deployment_failure_responses_total{model_id="bad-deployment"})`:                    failures,
		`sum(litellm_deployment_success_responses_total{requested_model="good"})`:                       plain + streams,
		`sum(litellm_input_tokens_metric_total)`:                                                        float64(prompt),
		`sum(litellm_output_tokens_metric_total)`:                                                       float64(completion),
		`sum(litellm_total_tokens_metric_total)`:                                                        float64(total),
		`sum(litellm_request_total_latency_metric_count)`:                                               plain + streams,
		`sum(litellm_llm_api_latency_metric_count{model="gpt-4o"})`:                                     plain + streams,
		`sum(litellm_llm_api_time_to_first_token_metric_count)`:                                         streams,
		`sum(litellm_request_total_latency_metric_bucket{le="+Inf"})`:                                   plain + streams,
		`max(litellm_deployment_state{model_id="bad-deployment"})`:                                      1,
		`sum(litellm_spend_metric_total) > 0`:                                                           1, // gpt-4o has a price
		// The dashboard's "Outcomes" panel: every try Envoy made was reported.
		`sum(envoy_cluster_upstream_rq_total{envoy_cluster_name!~"llmgate_.*"})`: plain + streams + failures,
		`sum(litellm_deployment_total_requests_total)`:                           plain + streams + failures,
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var diffs []string
		for q, w := range want {
			got, ok := prom.query(t, q)
			if q == `sum(litellm_spend_metric_total) > 0` && ok && got > 0 {
				got = 1
			}
			if !ok || got != w {
				diffs = append(diffs, fmt.Sprintf("%s = %v (present %v), want %v", q, got, ok, w))
			}
		}
		if len(diffs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus disagrees with what was served:\n%s", strings.Join(diffs, "\n"))
		}
		time.Sleep(time.Second)
	}

	absent := map[string]bool{}
	if mode == "module" {
		// The attempt filter's streams: no attempt filter in module mode (D55).
		absent["envoy_cluster_ext_proc_streams_started"] = true
	}
	dashboardQueriesRun(t, prom, absent)

	// The gateway port: behind the key, Prometheus text once authorised.
	code, _, body := do(t, "GET", g.URL+"/metrics", "", "")
	if code != 401 || !strings.Contains(string(body), `"error"`) {
		t.Errorf("/metrics without a key: %d %s, want 401 OpenAI error JSON", code, body)
	}
	code, hdr, body := do(t, "GET", g.URL+"/metrics", master, "")
	if code != 200 || !strings.Contains(string(body), "litellm_proxy_total_requests_metric_total") ||
		!strings.HasPrefix(hdr.Get("content-type"), "text/plain") {
		t.Errorf("/metrics with the key: %d %s %.200s", code, hdr.Get("content-type"), body)
	}
}

// needPrometheus finds Debian's prometheus; missing, the test fails (`make deps` installs it).
func needPrometheus(t *testing.T) string {
	t.Helper()
	needEnvoy(t)
	p, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus is required (run `make deps`: Debian's prometheus package): %v", err)
	}
	return p
}

type promServer struct{ url string }

// startPrometheus runs a Prometheus server on 127.0.0.1 that scrapes target
// every second, until the test ends.
func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: llmgate\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus logs:\n%s", logs.String())
		}
	})
	p := &promServer{url: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatalf("prometheus exited:\n%s", logs.String())
		default:
		}
		if resp, err := http.Get(p.url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("prometheus not ready in 30s:\n%s", logs.String())
	return nil
}

// query runs an instant query and returns its single value (false: no sample).
func (p *promServer) query(t *testing.T, q string) (float64, bool) {
	t.Helper()
	r := p.run(t, q)
	if len(r) != 1 {
		return 0, false
	}
	s, _ := r[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// samples runs an instant query and returns the number of series it answers.
func (p *promServer) samples(t *testing.T, q string) int {
	t.Helper()
	return len(p.run(t, q))
}

type promSample struct {
	Value [2]any `json:"value"`
}

// run runs an instant query; a query Prometheus refuses fails the test.
func (p *promServer) run(t *testing.T, q string) []promSample {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []promSample `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %s %v", q, b, err)
	}
	return r.Data.Result
}

// dashboardQueriesRun: every query of the shipped Grafana dashboard
// (deploy/grafana/llmgate.json) parses and runs on the real Prometheus and
// returns data, and every metric it names — LiteLLM's, llmgate's and
// Envoy's, all from the one /metrics endpoint — was scraped (but those in
// absent, which this mode does not have), so no panel is empty because of a
// typo or a metric that does not exist.
func dashboardQueriesRun(t *testing.T, prom *promServer, absent map[string]bool) {
	t.Helper()
	b, err := os.ReadFile("../deploy/grafana/llmgate.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	// Seen only when a provider sends rate-limit headers or a deployment
	// cools down, which this test's traffic does not do.
	notServedHere := map[string]bool{"litellm_remaining_requests_metric": true, "litellm_remaining_tokens_metric": true,
		"litellm_deployment_cooled_down_total": true}
	// A metric name is followed by a selector, a range or a closing paren;
	// label names (in by (...) and in selectors) are dropped first.
	byClause := regexp.MustCompile(`\bby \([^)]*\)`)
	labelMatch := regexp.MustCompile(`[a-z_]+\s*(=~|!~|!=|=)`)
	name := regexp.MustCompile(`\b(?:litellm|llmgate|envoy)_[a-z0-9_]+`)
	vars := strings.NewReplacer("$__rate_interval", "1m", "$model_group", ".*")
	seen, queries := map[string]bool{}, 0
	dataBy := time.Now().Add(15 * time.Second)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			queries++
			names := name.FindAllString(labelMatch.ReplaceAllString(byClause.ReplaceAllString(tg.Expr, ""), ""), -1)
			// Prometheus must accept the query (else the test fails) and,
			// unless it charts what this traffic does not make, answer it.
			// A rate needs two scrapes of a series: wait for them (15 s at most).
			n := prom.samples(t, vars.Replace(tg.Expr))
			for ; n == 0 && time.Now().Before(dataBy); n = prom.samples(t, vars.Replace(tg.Expr)) {
				time.Sleep(500 * time.Millisecond)
			}
			if n == 0 && !slices.ContainsFunc(names, func(n string) bool { return notServedHere[n] }) {
				t.Errorf("dashboard panel %q: %s returns no data", p.Title, tg.Expr)
			}
			for _, n := range names {
				if seen[n] || notServedHere[n] || absent[n] {
					continue
				}
				seen[n] = true
				if _, ok := prom.query(t, `count({__name__="`+n+`"})`); !ok {
					t.Errorf("dashboard panel %q uses %s, which /metrics does not serve", p.Title, n)
				}
			}
		}
	}
	if queries < 20 || len(seen) < 20 {
		t.Fatalf("dashboard: %d queries over %d metrics; the file lost its panels", queries, len(seen))
	}
}
