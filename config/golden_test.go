package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkGolden compares got with testdata/name, rewriting it under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./config -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test ./config -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func render(ds []Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteString("\n")
	}
	return b.String()
}

func TestInvalidGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/invalid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data, "testdata/invalid.yaml", env("API_TOKEN", "sk-very-secret-value"))
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want *LoadError", err)
	}
	text := le.Error() + "\n-- warnings --\n" + render(le.Warnings)
	if strings.Contains(text, "sk-very-secret-value") {
		t.Errorf("a value read from the environment leaked into a diagnostic:\n%s", text)
	}
	checkGolden(t, "invalid.golden", text)
}

func TestLoad(t *testing.T) {
	t.Setenv("LLMGATE_TEST_FROM_CONFIG", "from-process")
	cfg, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := findModel(t, cfg, "gpt-4o").Params.APIKey; got != "from-config" {
		t.Errorf("api_key = %q, want environment_variables to win", got)
	}
	if got := os.Getenv("LLMGATE_TEST_FROM_CONFIG"); got != "from-config" {
		t.Errorf("Load did not set environment_variables into the process env: %q", got)
	}
	checkGolden(t, "valid.golden", render(cfg.Warnings))

	if _, err := Load("testdata/does-not-exist.yaml"); err == nil || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestPathFromEnv(t *testing.T) {
	t.Setenv(EnvConfigFilePath, "/etc/litellm/config.yaml")
	if got := PathFromEnv("my.yaml"); got != "my.yaml" {
		t.Errorf("flag set: %q", got)
	}
	if got := PathFromEnv(""); got != "/etc/litellm/config.yaml" {
		t.Errorf("flag unset: %q", got)
	}
	t.Setenv(EnvConfigFilePath, "")
	if got := PathFromEnv(""); got != "" {
		t.Errorf("neither set: %q", got)
	}
}
