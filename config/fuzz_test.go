package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that no input makes Parse panic or hang, and that a
// failure is always a *LoadError with at least one error.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Add([]byte("model_list: &l [{model_name: a, litellm_params: {<<: *l}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml", env("OPENAI_API_KEY", "k"))
		if err != nil {
			le, ok := err.(*LoadError)
			if !ok || len(le.Diagnostics) == 0 {
				t.Fatalf("err = %#v", err)
			}
			return
		}
		if cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}

// TestHostileYAML: aliases that contain themselves or expand exponentially
// end in an error, quickly.
func TestHostileYAML(t *testing.T) {
	bomb := "litellm_settings:\n  x0: &a0 [1,2,3,4,5,6,7,8,9,10]\n"
	prev := "a0"
	for i := 1; i < 12; i++ {
		name := fmt.Sprintf("a%d", i)
		bomb += fmt.Sprintf("  x%d: &%s [", i, name)
		for j := 0; j < 10; j++ {
			bomb += "*" + prev + ","
		}
		bomb += "1]\n"
		prev = name
	}
	bomb += "  callbacks: *" + prev + "\n"
	tests := []struct{ name, yml, want string }{
		{"self merge", "model_list: &l [{model_name: a, litellm_params: {<<: *l}}]\n", "nested too deeply"},
		{"billion laughs", bomb, "expands to too many values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse([]byte(tt.yml), "hostile.yaml", env())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
