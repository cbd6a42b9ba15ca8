package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestModelsEndpoints: openai-go's Models.Get answers a served model and
// 404s an unknown one in OpenAI's shape; /v1/models and /model_group/info
// expand provider wildcards into the provider's known models (the model
// facts table), keeping the pattern itself, as LiteLLM does.
func TestModelsEndpoints(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
  - model_name: "anthropic/*"
    litellm_params: {model: "anthropic/*", api_base: %[1]s, api_key: k}
  - model_name: "gemini/gemini-1.5-*"
    litellm_params: {model: "gemini/gemini-1.5-*", api_base: %[1]s, api_key: k}
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	client := newClient(g, master)
	ctx := context.Background()

	for _, id := range []string{"gpt-4o", "anthropic/claude-3-haiku-20240307", "anthropic/claude-not-in-the-table"} {
		m, err := client.Models.Get(ctx, id)
		if err != nil || m.ID != id || m.Object != "model" {
			t.Errorf("Models.Get(%q) = %+v, %v", id, m, err)
		}
	}
	_, err := client.Models.Get(ctx, "no-such-model")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" || apiErr.Type != "invalid_request_error" {
		t.Errorf("Models.Get(unknown) = %v", err)
	}
	bad := newClient(g, "sk-wrong")
	if _, err := bad.Models.Get(ctx, "gpt-4o"); !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("Models.Get with a bad key = %v", err)
	}

	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	for _, want := range []string{"gpt-4o", "anthropic/*", "anthropic/claude-3-haiku-20240307", "anthropic/claude-3-5-sonnet-20241022",
		"gemini/gemini-1.5-*", "gemini/gemini-1.5-flash"} {
		if !slices.Contains(ids, want) {
			t.Errorf("/v1/models lacks %s: %v", want, ids)
		}
	}
	for _, id := range ids {
		if id == "gemini/gemini-2.0-flash" || id == "anthropic/gpt-4o" {
			t.Errorf("/v1/models lists %s, which the wildcards do not serve", id)
		}
	}

	code, _, b := do(t, "GET", g.URL+"/model_group/info", master, "")
	var info struct {
		Data []struct {
			ModelGroup     string   `json:"model_group"`
			Providers      []string `json:"providers"`
			MaxInputTokens int      `json:"max_input_tokens"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &info); code != 200 || err != nil {
		t.Fatalf("/model_group/info: %d %v %s", code, err, b)
	}
	found := false
	for _, d := range info.Data {
		if d.ModelGroup == "anthropic/claude-3-haiku-20240307" {
			found = true
			if !slices.Equal(d.Providers, []string{"anthropic"}) || d.MaxInputTokens == 0 {
				t.Errorf("/model_group/info entry %+v", d)
			}
		}
	}
	if !found {
		t.Errorf("/model_group/info does not expand anthropic/*: %s", b)
	}
}
