package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/config-reference.md")

func TestKeyTableNoDuplicates(t *testing.T) {
	seen := map[[2]string]bool{}
	for _, k := range keyTable {
		id := [2]string{k.Section, k.Key}
		if seen[id] {
			t.Errorf("key %s.%s is listed twice", k.Section, k.Key)
		}
		seen[id] = true
		if k.Differs && k.Status != Partial {
			t.Errorf("key %s.%s: Differs is only meaningful for Partial keys", k.Section, k.Key)
		}
		if k.Status == Partial && k.Note == "" {
			t.Errorf("partial key %s.%s needs a note", k.Section, k.Key)
		}
	}
}

// TestInitialStatuses pins the statuses the team agreed on, so that a change
// to the table is a deliberate one.
func TestInitialStatuses(t *testing.T) {
	supported := map[string][]string{
		SectionParams: {"model", "api_key", "api_base", "api_version", "organization", "rpm", "tpm", "weight", "timeout",
			"stream_timeout", "max_retries", "extra_headers", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
			"aws_region_name", "vertex_project", "vertex_location", "vertex_credentials", "mock_response", "drop_params",
			"additional_drop_params", "max_parallel_requests", "temperature", "max_tokens", "top_p", "stop", "seed"},
		SectionInfo: {"id", "mode", "input_cost_per_token", "output_cost_per_token", "max_tokens", "max_input_tokens",
			"max_output_tokens", "base_model", "supported_environments", "metadata"},
		SectionRouter: {"routing_strategy", "num_retries", "timeout", "stream_timeout", "allowed_fails", "cooldown_time",
			"disable_cooldowns", "retry_policy", "allowed_fails_policy", "fallbacks", "context_window_fallbacks",
			"content_policy_fallbacks", "default_fallbacks", "max_fallbacks", "model_group_alias", "enable_pre_call_checks",
			"redis_host", "redis_port", "redis_password", "redis_url", "routing_strategy_args", "default_max_parallel_requests"},
		SectionLiteLLM: {"drop_params", "additional_drop_params", "num_retries", "request_timeout", "fallbacks",
			"context_window_fallbacks", "content_policy_fallbacks", "default_fallbacks", "allowed_fails", "cooldown_time",
			"json_logs", "set_verbose", "model_group_alias", "require_auth_for_metrics_endpoint", "prometheus_latency_buckets",
			"cache", "cache_params"},
		SectionCache:   {"host", "port", "password", "namespace", "ttl", "mode", "redis_startup_nodes", "sentinel_nodes", "service_name", "sentinel_password"},
		SectionGeneral: {"master_key", "max_request_size_mb", "litellm_key_header_name", "max_parallel_requests", "health_check_details"},
		SectionTop:     {"model_list", "litellm_settings", "general_settings", "router_settings", "environment_variables"},
	}
	for section, keys := range supported {
		for _, key := range keys {
			k, ok := lookupKey(section, key)
			if !ok || k.Status != Supported {
				t.Errorf("%s.%s: status %v (known=%v), want supported", section, key, k.Status, ok)
			}
		}
	}
	notYet := map[string][]string{
		SectionTop:    {"finetune_settings", "assistant_settings"},
		SectionParams: {"watsonx_region_name", "hf_model_name"},
		SectionCache:  {"redis_semantic_cache_embedding_model"},
	}
	for section, keys := range notYet {
		for _, key := range keys {
			if k, ok := lookupKey(section, key); !ok || k.Status != NotYet {
				t.Errorf("%s.%s: status %v (known=%v), want not yet", section, key, k.Status, ok)
			}
		}
	}
}

// TestConfigReferenceDoc regenerates docs/config-reference.md with -update,
// and fails when the committed file is out of date.
func TestConfigReferenceDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "config-reference.md")
	want := referenceMarkdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./config -update)", err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date with config/keys.go: run go test ./config -update", path)
	}
}

// TestConfigReferenceInReadme keeps the README's config reference (between
// its markers) in step with config/keys.go; -update rewrites it.
func TestConfigReferenceInReadme(t *testing.T) {
	path := filepath.Join("..", "README.md")
	const begin, end = "<!-- config-reference:begin -->", "<!-- config-reference:end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %s … %s markers", begin, end)
	}
	want := s[:i+len(begin)] + "\n" + referenceTables("####") + "\n" + s[j:]
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if s != want {
		t.Errorf("README.md's config reference is out of date with config/keys.go: run go test ./config -update")
	}
}
