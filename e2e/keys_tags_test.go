package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestRequestTagsSpend (D84): a request's own tags reach its spend log's
// request_tags and /spend/tags, in LiteLLM's order, through Envoy with
// openai-go, on both request filters: the x-litellm-tags header (a plain
// body: in module mode served by the module itself, no request-filter
// stream), the body's metadata.tags and tags (extra body fields), merged
// with the key's metadata.tags and the answering deployment's
// litellm_params.tags, then LiteLLM's two User-Agent tags. Before D84 the
// logs carried the key's tags only.
func TestRequestTagsSpend(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, mode := range []struct {
		name string
		args []string
	}{{"module", moduleArgs}, {"ext_proc", extProcArgs}} {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, tagsConfig(fake.URL()), mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			k := keyAPI{t, g}
			key, _ := k.generate(`{"models":["gpt-x"],"metadata":{"tags":["key-tag"]}}`)
			if mode.name == "module" {
				waitModuleKnowsKey(t, g, key, "other")
			}
			client := newClient(g, key)
			params := openai.ChatCompletionNewParams{Model: "gpt-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello tags")}}
			ctx := context.Background()
			before := requestFilterStreams(t, g)
			if _, err := client.Chat.Completions.New(ctx, params, option.WithHeader("x-litellm-tags", " hdr-a, hdr-b ,")); err != nil {
				t.Fatalf("with x-litellm-tags: %v", err)
			}
			if n := requestFilterStreams(t, g) - before; mode.name == "module" && n != 0 {
				t.Fatalf("the header-tagged request opened %d request-filter streams: not served by the module", n)
			}
			if _, err := client.Chat.Completions.New(ctx, params, option.WithHeader("x-litellm-tags", "hdr-a"),
				option.WithJSONSet("metadata", map[string]any{"tags": []string{"meta-a", "key-tag"}}),
				option.WithJSONSet("tags", []string{"body-a", "hdr-a"})); err != nil {
				t.Fatalf("with metadata.tags and tags: %v", err)
			}
			want := map[string][]string{ // by each log's first tag
				"hdr-a":  {"hdr-a", "hdr-b", "key-tag", "dep-tag"},
				"meta-a": {"meta-a", "key-tag", "hdr-a", "body-a", "dep-tag"},
			}
			var logs []map[string]any
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				st, _, b := do(t, "GET", g.URL+"/spend/logs?api_key="+key, master, "")
				if st != 200 || json.Unmarshal(b, &logs) != nil {
					t.Fatalf("/spend/logs: %d %s", st, b)
				}
				if len(logs) == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("/spend/logs: %d rows after 10 s, want 2: %v", len(logs), logs)
				}
			}
			for _, l := range logs {
				var tags []string
				for _, v := range l["request_tags"].([]any) {
					tags = append(tags, v.(string))
				}
				// openai-go sends "User-Agent: OpenAI/Go <version>".
				w := want[tags[0]]
				if n := len(w); w == nil || len(tags) != n+2 || !slices.Equal(tags[:n], w) || tags[n] != "User-Agent: OpenAI" ||
					!strings.HasPrefix(tags[n+1], "User-Agent: OpenAI/Go ") {
					t.Fatalf("request_tags %q, want %q then the two User-Agent tags", tags, w)
				}
				delete(want, tags[0])
			}
			var rows []map[string]any
			st, _, b := do(t, "GET", g.URL+"/spend/tags", master, "")
			if st != 200 || json.Unmarshal(b, &rows) != nil {
				t.Fatalf("/spend/tags: %d %s", st, b)
			}
			counts := map[string]float64{}
			for _, r := range rows {
				counts[r["individual_request_tag"].(string)] = r["log_count"].(float64)
			}
			for tag, n := range map[string]float64{"hdr-a": 2, "hdr-b": 1, "meta-a": 1, "body-a": 1, "key-tag": 2, "dep-tag": 2, "User-Agent: OpenAI": 2} {
				if counts[tag] != n {
					t.Fatalf("/spend/tags: %q in %v logs, want %v: %s", tag, counts[tag], n, b)
				}
			}
		})
	}
}

// tagsConfig is TestRequestTagsSpend's config: the deployment carries tags.
func tagsConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: sk-provider, tags: ["dep-tag"]}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: other
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-provider}
general_settings:
  master_key: %[2]s
  proxy_batch_write_at: 1
`, fake, master)
}

// TestLangfuseDefaultTags (D91): with langfuse_default_tags each trace the
// fake Langfuse ingestion server receives has LiteLLM's tags: the request's
// tags (the x-litellm-tags header, the key's metadata.tags, the User-Agent
// ones), then "name:value" for the listed request fields in LiteLLM's
// metadata order ("None" when unset), cache_hit, proxy_base_url; a listed
// name that is no such field adds nothing. A virtual key's request and a
// master key's (served by the module) alike.
func TestLangfuseDefaultTags(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	lf := &collector{}
	lfSrv := httptest.NewServer(lf)
	defer lfSrv.Close()
	cfg := strings.Replace(callbacksConfig(fake.URL()), `  callbacks: ["generic_api", "langfuse", "prometheus"]`, `  callbacks: ["langfuse"]
  langfuse_default_tags: ["model_group", "user_api_key_alias", "semantic-similarity", "user_api_key_team_alias", "cache_hit", "proxy_base_url"]`, 1)
	g := startGateway(t, cfg, "LANGFUSE_HOST="+lfSrv.URL, "LANGFUSE_PUBLIC_KEY=pk-lf", "LANGFUSE_SECRET_KEY=sk-lf",
		"DEFAULT_FLUSH_INTERVAL_SECONDS=0.2", "PROXY_BASE_URL=https://proxy.example")
	vkey, _ := keyAPI{t, g}.generate(`{"key_alias": "lf-key", "metadata": {"tags": ["key-tag"]}}`)
	for _, key := range []string{vkey, master} {
		client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0),
			option.WithRequestTimeout(30*time.Second))
		if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "good",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("tag me")}},
			option.WithHeader("x-litellm-tags", "hdr-a"), option.WithHeader("User-Agent", "lf-test/1.0")); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{
		vkey: {"hdr-a", "key-tag", "User-Agent: lf-test", "User-Agent: lf-test/1.0",
			"user_api_key_alias:lf-key", "user_api_key_team_alias:None", "model_group:good", "cache_hit:False", "proxy_base_url:https://proxy.example"},
		master: {"hdr-a", "User-Agent: lf-test", "User-Agent: lf-test/1.0",
			"user_api_key_alias:None", "user_api_key_team_alias:None", "model_group:good", "cache_hit:False", "proxy_base_url:https://proxy.example"},
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := langfuseTraceTags(t, lf)
		if len(got) == 2 {
			var diffs []string
			for _, w := range want {
				matched := false
				for _, tags := range got {
					if slices.Equal(tags, w) {
						matched = true
					}
				}
				if !matched {
					diffs = append(diffs, strings.Join(w, ", "))
				}
			}
			if len(diffs) == 0 {
				return
			}
			t.Fatalf("traces' tags %q; none is %q", got, diffs)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d traces in 30 s, want 2", len(got))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// langfuseTraceTags are the tags of each trace-create event received.
func langfuseTraceTags(t *testing.T, lf *collector) [][]string {
	t.Helper()
	bodies, _ := lf.snapshot()
	var out [][]string
	for _, b := range bodies {
		var in struct {
			Batch []struct {
				Type string `json:"type"`
				Body struct {
					Tags []string `json:"tags"`
				} `json:"body"`
			} `json:"batch"`
		}
		if err := json.Unmarshal(b, &in); err != nil {
			t.Fatalf("ingestion body: %v: %s", err, b)
		}
		for _, e := range in.Batch {
			if e.Type == "trace-create" {
				out = append(out, e.Body.Tags)
			}
		}
	}
	return out
}
