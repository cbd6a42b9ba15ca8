package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInclude: include merges files as LiteLLM does — a list extends the
// config's list, any other key replaces the config's — a single path works
// too, paths are relative to the config's directory, and an error inside an
// included file names that file and line; a missing file is an error at the
// include entry.
func TestInclude(t *testing.T) {
	dir := t.TempDir()
	must := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	must("models.yaml", "model_list:\n  - model_name: b\n    litellm_params: {model: openai/gpt-4o, api_key: k}\nlitellm_settings:\n  num_retries: 7\n")
	must("router.yaml", "router_settings:\n  routing_strategy: least-busy\n")
	main := filepath.Join(dir, "config.yaml")
	cfg, err := Parse([]byte(`include:
  - models.yaml
  - router.yaml
model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o, api_key: k}
litellm_settings:
  num_retries: 2
  drop_params: true
`), main, env())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Models) != 2 || cfg.Models[0].ModelName != "a" || cfg.Models[1].ModelName != "b" {
		t.Errorf("model_list: %+v", cfg.Models)
	}
	if cfg.Router.NumRetries != 7 || cfg.LiteLLM.DropParams {
		t.Errorf("litellm_settings replaced by the included one: num_retries %d drop_params %v", cfg.Router.NumRetries, cfg.LiteLLM.DropParams)
	}
	if cfg.Router.RoutingStrategy != "least-busy" {
		t.Errorf("router_settings from the included file: %q", cfg.Router.RoutingStrategy)
	}
	if len(cfg.Includes) != 2 || cfg.Includes[0] != filepath.Join(dir, "models.yaml") {
		t.Errorf("includes: %v", cfg.Includes)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}

	must("bad.yaml", "model_list:\n  - model_name: c\n    litellm_params: {model: openai/gpt-4o, api_key: k, rpm: -1}\n")
	_, err = Parse([]byte("include: bad.yaml\nmodel_list: []\n"), main, env())
	le, ok := err.(*LoadError)
	if !ok || !hasDiag(le.Diagnostics, filepath.Join(dir, "bad.yaml")+":3: error: model_list[0].litellm_params.rpm") {
		t.Errorf("an error in an included file: %v", err)
	}
	_, err = Parse([]byte("model_list: []\ninclude: [nope.yaml]\n"), main, env())
	le, ok = err.(*LoadError)
	if !ok || !hasDiag(le.Diagnostics, main+":2: error: include[0]: included file "+filepath.Join(dir, "nope.yaml")) {
		t.Errorf("a missing included file: %v", err)
	}
}
