package e2e

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

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
