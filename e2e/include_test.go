package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestIncludeReload: a config whose model_list comes from a file it
// includes (in another directory) serves those models, and a change to the
// included file alone reloads the config: the model it adds is served,
// with the config file untouched.
func TestIncludeReload(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	models := filepath.Join(t.TempDir(), "models.yaml")
	write := func(names ...string) {
		yml := "model_list:\n"
		for _, n := range names {
			yml += fmt.Sprintf("  - model_name: %s\n    litellm_params: {model: openai/gpt-4o, api_base: %s/v1, api_key: k}\n", n, fake.URL())
		}
		tmp := models + ".tmp"
		if err := os.WriteFile(tmp, []byte(yml), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, models); err != nil {
			t.Fatal(err)
		}
	}
	write("first")
	g := startGateway(t, fmt.Sprintf("include:\n  - %s\ngeneral_settings:\n  master_key: %s\n", models, master))
	chat := func(model string) int {
		code, _, _ := post(t, g.URL+"/v1/chat/completions", master, `{"model":"`+model+`","messages":[{"role":"user","content":"x"}]}`)
		return code
	}
	if code := chat("first"); code != 200 {
		t.Fatalf("the included model: %d\n%s", code, g.Logs())
	}
	if code := chat("second"); code == 200 {
		t.Fatalf("a model not yet included was served")
	}
	write("first", "second")
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if chat("second") == 200 {
			if code := chat("first"); code != 200 {
				t.Fatalf("the first model after the reload: %d", code)
			}
			return
		}
	}
	t.Fatalf("the model added to the included file was never served:\n%s", g.Logs())
}
