package e2e

import (
	"context"
	"encoding/json"
	"fmt"
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
