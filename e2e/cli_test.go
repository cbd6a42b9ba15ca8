package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// exampleEnv gives the os.environ/ references of the examples a value.
var exampleEnv = []string{
	"AZURE_API_KEY=x", "AZURE_API_BASE=https://example.openai.azure.com", "AZURE_API_KEY_EU=x", "AZURE_API_KEY_CA=x",
	"AZURE_API_BASE_EU=https://eu.openai.azure.com", "AZURE_API_BASE_CA=https://ca.openai.azure.com",
	"OPENAI_API_KEY=x", "ANTHROPIC_API_KEY=x", "LITELLM_MASTER_KEY=sk-x", "REDIS_HOST=127.0.0.1", "REDIS_PORT=6379",
	"REDIS_PASSWORD=x", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_REGION_NAME=us-east-1",
	"GROQ_API_KEY=x", "MISTRAL_API_KEY=x", "TOGETHERAI_API_KEY=x", "DEEPSEEK_API_KEY=x", "GEMINI_API_KEY=x", "HUGGINGFACE_API_KEY=x",
}

func runCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(llmgateBin, args...)
	cmd.Env = append(os.Environ(), exampleEnv...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// TestValidateExamples: `llmgate validate` passes on every example (the seed
// configs with supported providers) and `render` prints loadable YAML.
func TestValidateExamples(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.yaml")
	if len(files) < 5 {
		t.Fatalf("only %d examples", len(files))
	}
	for _, f := range files {
		out, code := runCLI(t, "validate", "--config", f)
		if code != 0 || !strings.Contains(out, ": ok:") {
			t.Errorf("validate %s: exit %d\n%s", f, code, out)
		}
		out, code = runCLI(t, "render", "--config", f)
		if code != 0 {
			t.Errorf("render %s: exit %d\n%s", f, code, out)
			continue
		}
		var boot struct {
			StaticResources struct {
				Listeners []map[string]any `yaml:"listeners"`
				Clusters  []map[string]any `yaml:"clusters"`
			} `yaml:"static_resources"`
		}
		if err := yaml.Unmarshal([]byte(out), &boot); err != nil || len(boot.StaticResources.Listeners) != 1 || len(boot.StaticResources.Clusters) == 0 {
			t.Errorf("render %s: not a static bootstrap (%v)", f, err)
		}
		out, code = runCLI(t, "render", "--config", f, "--mode", "xds")
		var doc struct {
			Listeners []map[string]any `yaml:"listeners"`
			Routes    []map[string]any `yaml:"routes"`
			Clusters  []map[string]any `yaml:"clusters"`
		}
		if err := yaml.Unmarshal([]byte(out), &doc); code != 0 || err != nil || len(doc.Listeners) != 1 || len(doc.Routes) != 1 || len(doc.Clusters) == 0 {
			t.Errorf("render --mode xds %s: not the expected resources (%v)", f, err)
		}
	}
}

// TestValidateBrokenConfig: every error with file:line and key, exit 1.
func TestValidateBrokenConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(path, []byte(`model_list:
  - model_name: a
    litellm_params:
      model: nosuch/model
  - model_name: b
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/LLMGATE_TEST_MISSING_VAR
router_settings:
  routing_strategy: fastest
  num_retrys: 3
litellm_settings:
  success_callback: ["helicone"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runCLI(t, "validate", "--config", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`broken\.yaml:4: error: model_list\[0\]\.litellm_params\.model: .*nosuch`),
		regexp.MustCompile(`broken\.yaml:8: error: .*LLMGATE_TEST_MISSING_VAR`),
		regexp.MustCompile(`broken\.yaml:10: error: router_settings\.routing_strategy`),
		regexp.MustCompile(`broken\.yaml:11: error: router_settings\.num_retrys: .*did you mean "num_retries"`),
		regexp.MustCompile(`broken\.yaml:13: warning: litellm_settings\.success_callback.*"helicone": accepted, not implemented yet`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

// TestRunRefusesBrokenConfig: `llmgate run` exits with the diagnostics.
func TestRunRefusesBrokenConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(path, []byte("model_list:\n  - model_name: a\n    litellm_params:\n      model: nosuch/model\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runCLI(t, "run", "--config", path, "--port", "0")
	if code == 0 || !strings.Contains(out, "broken.yaml:4") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// TestValidateNoEnv: `llmgate validate --no-env` checks LiteLLM's own
// proxy_server_config.yaml with none of the variables it names set (exit 0,
// each unset variable a warning with file:line); without the flag the
// variables its implemented keys read are errors.
func TestValidateNoEnv(t *testing.T) {
	cfg := "../config/testdata/litellm_proxy_server_config.yaml"
	run := func(args ...string) (string, int) {
		cmd := exec.Command(llmgateBin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	out, code := run("validate", "--no-env", "--config", cfg)
	if code != 0 || !strings.Contains(out, ": ok:") {
		t.Fatalf("validate --no-env: exit %d\n%s", code, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`litellm_proxy_server_config\.yaml:\d+: warning: model_list\[1\]\.litellm_params\.api_key: environment variable OPENAI_API_KEY is not set .*--no-env`),
		regexp.MustCompile(`warning: router_settings\.redis_host: environment variable REDIS_HOST is not set`),
		regexp.MustCompile(`warning: litellm_settings\.default_team_settings\[0\]\.langfuse_secret: environment variable LANGFUSE_PROJECT1_SECRET is not set .*the team's events are not sent`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	out, code = run("validate", "--config", cfg)
	if code != 1 || !regexp.MustCompile(`error: model_list\[1\]\.litellm_params\.api_key: environment variable OPENAI_API_KEY is not set`).MatchString(out) {
		t.Errorf("validate without --no-env: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "error: litellm_settings.default_team_settings") {
		t.Errorf("an unset variable under a not-yet key is an error:\n%s", out)
	}
}
