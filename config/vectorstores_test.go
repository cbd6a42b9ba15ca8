package config

import "testing"

// TestVectorStoreRegistry: vector_store_registry's entries with their
// credentials from litellm_params or the environment (LiteLLM's order),
// Bedrock's region and endpoint defaults, and the errors of an entry
// without an id or a provider, or with a provider not searched here.
func TestVectorStoreRegistry(t *testing.T) {
	const head = "model_list: []\nvector_store_registry:\n"
	cfg := mustParse(t, head+`  - vector_store_name: docs
    litellm_params:
      vector_store_id: vs_1
      custom_llm_provider: openai
      max_num_results: 3
  - vector_store_name: kb
    litellm_params:
      vector_store_id: KB1
      custom_llm_provider: bedrock
  - vector_store_name: kb2
    litellm_params:
      vector_store_id: KB2
      custom_llm_provider: bedrock
      aws_access_key_id: AK2
      aws_secret_access_key: os.environ/S2
      aws_region_name: eu-west-1
      aws_bedrock_runtime_endpoint: https://kb.example
`, env("OPENAI_API_KEY", "sk-env", "OPENAI_BASE_URL", "https://oa.example/v1", "AWS_ACCESS_KEY_ID", "AKENV", "AWS_SECRET_ACCESS_KEY", "senv", "AWS_REGION_NAME", "us-east-2", "S2", "s2"))
	v := cfg.VectorStores
	if len(v) != 3 {
		t.Fatalf("stores %+v", v)
	}
	if v[0].Name != "docs" || v[0].ID != "vs_1" || v[0].APIKey != "sk-env" || v[0].APIBase != "https://oa.example/v1" || v[0].Search["max_num_results"] != 3 {
		t.Errorf("openai entry %+v", v[0])
	}
	if v[1].AWSAccessKeyID != "AKENV" || v[1].AWSSecretAccessKey != "senv" || v[1].AWSRegion != "us-east-2" || v[1].APIBase != "https://bedrock-agent-runtime.us-east-2.amazonaws.com" {
		t.Errorf("bedrock entry from the environment %+v", v[1])
	}
	if v[2].AWSAccessKeyID != "AK2" || v[2].AWSSecretAccessKey != "s2" || v[2].AWSRegion != "eu-west-1" || v[2].APIBase != "https://kb.example" {
		t.Errorf("bedrock entry %+v", v[2])
	}
	if d := cfg.OpenAIVectorStoreDefaults(); d.APIKey != "sk-env" || d.APIBase != "https://oa.example/v1" || d.Provider != "openai" {
		t.Errorf("defaults %+v", d)
	}
	if d := mustParse(t, "model_list: []\n", nil).OpenAIVectorStoreDefaults(); d.APIBase != "https://api.openai.com/v1" {
		t.Errorf("defaults without a registry %+v", d)
	}
	for _, tc := range []struct{ yml, want string }{
		{"  - litellm_params: {custom_llm_provider: openai}\n", "vector_store_id: is required"},
		{"  - litellm_params: {vector_store_id: x}\n", "custom_llm_provider: is required"},
		{"  - litellm_params: {vector_store_id: x, custom_llm_provider: pg_vector}\n", `vector store provider "pg_vector" is not supported yet`},
	} {
		le := parseErr(t, head+tc.yml, nil)
		if !hasDiag(le.Diagnostics, "test.yaml:3") || !hasDiag(le.Diagnostics, tc.want) {
			t.Errorf("%q: %v", tc.yml, le.Diagnostics)
		}
	}
}

// TestSearchToolsConfig: search_tools entries, the provider's environment
// key and base, the other litellm_params kept for every search, the
// description; a missing or unsupported provider is an error at its line.
func TestSearchToolsConfig(t *testing.T) {
	const head = "model_list: []\nsearch_tools:\n"
	cfg := mustParse(t, head+`  - search_tool_name: web
    litellm_params: {search_provider: tavily, search_depth: advanced, input_cost_per_query: 0.1}
    search_tool_info: {description: the web}
  - search_tool_name: px
    litellm_params: {search_provider: perplexity, api_key: os.environ/PX, api_base: "https://px.example"}
`, env("TAVILY_API_KEY", "tk", "PX", "pk"))
	s := cfg.SearchTools
	if len(s) != 2 || s[0].Name != "web" || s[0].APIKey != "tk" || s[0].APIBase != "https://api.tavily.com" || s[0].Params["search_depth"] != "advanced" ||
		s[0].Description != "the web" || s[0].InputCostPerQuery == nil || *s[0].InputCostPerQuery != 0.1 ||
		s[1].APIKey != "pk" || s[1].APIBase != "https://px.example" || len(cfg.SearchToolsNamed("px")) != 1 {
		t.Fatalf("tools %+v", s)
	}
	for _, tc := range []struct{ yml, want string }{
		{"  - litellm_params: {search_provider: tavily}\n", "search_tool_name: is required"},
		{"  - search_tool_name: a\n    litellm_params: {}\n", "search_provider: is required"},
		{"  - search_tool_name: a\n    litellm_params: {search_provider: exa_ai}\n", `search provider "exa_ai" is not supported yet`},
	} {
		le := parseErr(t, head+tc.yml, nil)
		if !hasDiag(le.Diagnostics, "test.yaml:3") || !hasDiag(le.Diagnostics, tc.want) {
			t.Errorf("%q: %v", tc.yml, le.Diagnostics)
		}
	}
}
