package model_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/config/configtest"
	"github.com/llmgate/llmgate/internal/model"
)

func parse(t *testing.T, name string, data []byte) *config.Config {
	t.Helper()
	return configtest.Parse(t, name, data)
}

// extraConfigs exercise the rules the examples do not: "*" and
// prefix-less fallback keys, default_fallbacks, max_fallbacks, weight 0,
// a bare "*" deployment, aliases onto a wildcard, limits and mocks.
var extraConfigs = map[string]string{
	"fallback-star.yaml": `
model_list:
  - {model_name: openai/gpt-4o, litellm_params: {model: openai/gpt-4o, api_key: k, weight: 3}}
  - {model_name: openai/gpt-4o, litellm_params: {model: openai/gpt-4o-mini, api_key: k}}
  - {model_name: a, litellm_params: {model: openai/a, api_key: k, rpm: 10, max_parallel_requests: 2}}
  - {model_name: b, litellm_params: {model: openai/b, api_key: k, rpm: 900}}
  - {model_name: b, litellm_params: {model: openai/b2, api_key: k, rpm: 1800, tpm: 5}}
  - {model_name: c, litellm_params: {model: openai/c, api_key: k, mock_response: hi}}
  - {model_name: d, litellm_params: {model: openai/d, api_key: k, timeout: 3, stream_timeout: 2}}
  - {model_name: e, litellm_params: {model: openai/e, api_key: k, num_retries: 4, cooldown_time: 9}}
router_settings:
  fallbacks: [{openai/gpt-4o: [a, b]}, {c: [c, a, b, d, e]}, {"*": [e]}]
  context_window_fallbacks: [{a: [b]}, {"*": [c]}]
  content_policy_fallbacks: [{b: [a, a, b]}]
  max_fallbacks: 3
`,
	"fallback-default.yaml": `
model_list:
  - {model_name: a, litellm_params: {model: openai/a, api_key: k}}
  - {model_name: b, litellm_params: {model: openai/b, api_key: k}}
  - {model_name: d, litellm_params: {model: openai/d, api_key: k}}
  - {model_name: e, litellm_params: {model: openai/e, api_key: k}}
  - {model_name: "claude-*", litellm_params: {model: "anthropic/claude-*", api_key: k}}
  - {model_name: "*", litellm_params: {model: "*"}}
router_settings:
  fallbacks: [{a: [b]}, {claude-x: [a]}]
  default_fallbacks: [d, e]
  model_group_alias: {big: a, hid: {model: "claude-*", hidden: true}}
`,
}

func exampleConfigs(t *testing.T) map[string]*config.Config {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if err != nil || len(files) < 8 {
		t.Fatalf("example configs: %v %v", files, err)
	}
	out := map[string]*config.Config{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = parse(t, filepath.Base(f), b)
	}
	for name, src := range extraConfigs {
		out[name] = parse(t, name, []byte(src))
	}
	return out
}

// probes are names a client may ask for: every group and alias, each
// pattern with its stars filled, bare names whose provider is inferred,
// and names that resolve to nothing.
func probes(m *model.Model) []string {
	out := []string{"gpt-4o", "claude-3-haiku", "gemini-1.5-pro", "command-r", "mistral-large", "codestral-x",
		"anthropic/claude-x", "openai/foo", "vllm/foo", "groq/llama3", "bedrock/x", "claude-x", "nope", ""}
	for _, g := range m.Groups {
		out = append(out, g.Name, strings.ReplaceAll(g.Name, "*", "x-1"), strings.ReplaceAll(g.Name, "*", "a/b"))
	}
	aliases := make([]string, 0, len(m.Aliases))
	for a := range m.Aliases {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	return append(out, aliases...)
}
