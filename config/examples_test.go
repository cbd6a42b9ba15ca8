package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/examples"
)

var envRefRE = regexp.MustCompile(`os\.environ/([A-Za-z0-9_]+)`)

// exampleEnv gives every variable an example references a dummy value.
func exampleEnv(data []byte) func(string) (string, bool) {
	vals := map[string]string{}
	for _, m := range envRefRE.FindAllStringSubmatch(string(data), -1) {
		v := "dummy-" + strings.ToLower(m[1])
		if strings.HasSuffix(m[1], "_PORT") {
			v = "6379"
		}
		if strings.HasSuffix(m[1], "_API_BASE") {
			v = "https://example.invalid"
		}
		vals[m[1]] = v
	}
	return func(k string) (string, bool) {
		v, ok := vals[k]
		return v, ok
	}
}

func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("found %d example configs, want at least 8", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "#") {
				t.Errorf("%s has no comment header", f)
			}
			cfg, err := Parse(data, f, exampleEnv(data))
			if err != nil {
				t.Fatalf("%v", err)
			}
			for _, w := range cfg.Warnings {
				t.Errorf("warning: %v", w)
			}
			if len(cfg.Models) == 0 {
				t.Errorf("no deployment served")
			}
		})
	}
}

// TestDefaultExampleIsOffline checks that the embedded default needs no
// network, no key and no environment.
func TestDefaultExampleIsOffline(t *testing.T) {
	cfg, err := Parse(examples.Default, examples.DefaultName, env())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.General.MasterKey != "" {
		t.Errorf("default config sets a master_key")
	}
	modes := map[string]bool{}
	for _, d := range cfg.Models {
		if d.Params.MockResponse == nil || *d.Params.MockResponse == "" {
			t.Errorf("deployment %s has no mock_response: it would call a provider", d.ModelName)
		}
		modes[d.Info.Mode] = true
	}
	if !modes["chat"] || !modes["embedding"] {
		t.Errorf("modes = %v, want chat and embedding deployments", modes)
	}
	d := findModel(t, cfg, "gpt-4o-mini")
	if d.Provider != "openai" || d.Model != "gpt-4o-mini" || *d.Params.MockResponse != "Hello from llmgate!" {
		t.Errorf("gpt-4o-mini = %+v", d)
	}
}

func TestExampleEnvironments(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "examples", "environments.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base := exampleEnv(data)
	staging := func(k string) (string, bool) {
		if k == EnvEnvironment {
			return "staging", true
		}
		return base(k)
	}
	cfg, err := Parse(data, "environments.yaml", staging)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Models) != 2 || len(cfg.Skipped) != 1 || cfg.Skipped[0].ModelName != "gpt-4o" {
		t.Errorf("staging: %d served, skipped %v", len(cfg.Models), cfg.Skipped)
	}
}
