package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

func mockTestingConfig(fake string, allow bool) string {
	return fmt.Sprintf(`
model_list:
  - model_name: primary
    litellm_params: {model: openai/primary-model, api_base: %[1]s/v1, api_key: k}
  - model_name: backup
    litellm_params: {model: openai/backup-model, api_base: %[1]s/v1, api_key: k}
  - model_name: big
    litellm_params: {model: openai/big-model, api_base: %[1]s/v1, api_key: k}
  - model_name: mixed
    litellm_params: {model: openai/mixed-1, api_base: %[1]s/v1, api_key: k}
  - model_name: mixed
    litellm_params: {model: openai/mixed-2, api_base: %[1]s/v1, api_key: k}
  - model_name: slow
    litellm_params: {model: openai/slow-model, api_base: %[1]s/v1, api_key: k, timeout: 1}
  - model_name: cfg-timeout
    litellm_params: {model: openai/cfg-timeout-model, api_base: %[1]s/v1, api_key: k, timeout: 1, mock_timeout: true}
router_settings:
  num_retries: 1
  fallbacks: [{primary: [backup]}]
  context_window_fallbacks: [{primary: [big]}]
general_settings:
  dangerously_allow_mock_testing_request_params: %[2]v
`, fake, allow)
}

// TestLiteLLMOnlyFieldsStripped: the fields LiteLLM reads itself never reach
// the provider, on the prepared-body path (a group of alike deployments) and
// on the per-try path (a group of different models); OpenAI fields stay.
func TestLiteLLMOnlyFieldsStripped(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, mockTestingConfig(fake.URL(), false))
	// (api_base, base_url and the logging credentials are LiteLLM's banned
	// body params: refused unless allowed, D156.)
	liteLLMOnly := []string{"metadata", "tags", "user_api_key_team_id", "litellm_trace_id", "litellm_session_id", "num_retries",
		"fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "timeout", "caching", "cache",
		"api_key", "max_fallbacks", "disable_fallbacks", "guardrails", "mock_response"}
	for _, group := range []string{"primary", "mixed"} {
		body := `{"model":"` + group + `","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"user":"u1",
			"metadata":{"k":"v"},"tags":["t"],"user_api_key_team_id":"team","litellm_trace_id":"tr","litellm_session_id":"s",
			"num_retries":1,"fallbacks":[],"context_window_fallbacks":[],"content_policy_fallbacks":[],"timeout":30,
			"caching":false,"cache":{"no-cache":true},"api_key":"sk-client",
			"max_fallbacks":1,"disable_fallbacks":true,"guardrails":["g"],"mock_response":null}`
		code, _, b := post(t, g.URL+"/v1/chat/completions", "", body)
		if code != 200 {
			t.Fatalf("%s: status %d: %s", group, code, b)
		}
		rec, _ := fake.Last()
		var got map[string]any
		if err := json.Unmarshal(rec.Body, &got); err != nil {
			t.Fatalf("%s: provider body %s: %v", group, rec.Body, err)
		}
		for _, f := range liteLLMOnly {
			if _, ok := got[f]; ok {
				t.Errorf("%s: %s reached the provider: %s", group, f, rec.Body)
			}
		}
		if got["temperature"] != 0.5 || got["user"] != "u1" {
			t.Errorf("%s: OpenAI fields lost: %s", group, rec.Body)
		}
	}
}

// TestMockTestingSwitches: LiteLLM's testing switches fake the failure they
// name without calling the provider for it, and the router reacts as to the
// real failure; without dangerously_allow_mock_testing_request_params they
// are a 400.
func TestMockTestingSwitches(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, mockTestingConfig(fake.URL(), true))
	ask := func(model, extra string) (int, map[string][]string, []byte, []string) {
		t.Helper()
		fake.Reset()
		code, h, b := post(t, g.URL+"/v1/chat/completions", "", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]`+extra+`}`)
		var models []string
		for _, r := range fake.Requests() {
			var m struct{ Model string }
			_ = json.Unmarshal(r.Body, &m)
			models = append(models, m.Model)
		}
		return code, h, b, models
	}

	t.Run("fallbacks", func(t *testing.T) {
		code, h, b, models := ask("primary", `,"mock_testing_fallbacks":true`)
		if code != 200 || fmt.Sprint(models) != "[backup-model]" || h["X-Litellm-Attempted-Fallbacks"][0] != "1" {
			t.Errorf("status %d, provider saw %v, attempted-fallbacks %v: %s", code, models, h["X-Litellm-Attempted-Fallbacks"], b)
		}
		code, _, b, models = ask("backup", `,"mock_testing_fallbacks":true`)
		assertOpenAIError(t, code, b, 500, "mock exception for model=backup")
		if len(models) != 0 {
			t.Errorf("a group without fallbacks called the provider: %v", models)
		}
	})
	t.Run("context_window_fallbacks", func(t *testing.T) {
		code, _, b, models := ask("primary", `,"mock_testing_context_fallbacks":true`)
		if code != 200 || fmt.Sprint(models) != "[big-model]" {
			t.Errorf("status %d, provider saw %v: %s", code, models, b)
		}
	})
	t.Run("rate_limit_error", func(t *testing.T) {
		code, h, b, models := ask("big", `,"mock_testing_rate_limit_error":true`)
		if code != 200 || fmt.Sprint(models) != "[big-model]" || h["X-Litellm-Attempted-Retries"][0] != "1" {
			t.Errorf("status %d, provider saw %v, attempted-retries %v: %s", code, models, h["X-Litellm-Attempted-Retries"], b)
		}
		code, _, b, models = ask("big", `,"mock_testing_rate_limit_error":true,"num_retries":0`)
		assertOpenAIError(t, code, b, 429, "mock exception for model=big, to trigger a rate limit error")
		if len(models) != 0 {
			t.Errorf("provider called: %v", models)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		code, _, b, models := ask("slow", `,"mock_timeout":true`)
		assertOpenAIError(t, code, b, 408, "mock timeout")
		var e struct{ Error struct{ Type string } }
		_ = json.Unmarshal(b, &e)
		if e.Error.Type != "timeout_error" || len(models) != 0 {
			t.Errorf("type %q, provider saw %v", e.Error.Type, models)
		}
	})
	t.Run("false does nothing", func(t *testing.T) {
		code, _, b, models := ask("primary", `,"mock_testing_fallbacks":false`)
		if code != 200 || fmt.Sprint(models) != "[primary-model]" {
			t.Errorf("status %d, provider saw %v: %s", code, models, b)
		}
	})

	off := startGateway(t, mockTestingConfig(fake.URL(), false))
	fake.Reset()
	code, _, b := post(t, off.URL+"/v1/chat/completions", "", `{"model":"primary","messages":[{"role":"user","content":"hi"}],"mock_testing_rate_limit_error":true}`)
	assertOpenAIError(t, code, b, 400, "mock_testing_rate_limit_error")
	if n := fake.Count(""); n != 0 {
		t.Errorf("refused request reached the provider %d times", n)
	}
	// litellm_params.mock_timeout is the operator's: no opt-in needed.
	code, _, b = post(t, off.URL+"/v1/chat/completions", "", `{"model":"cfg-timeout","messages":[{"role":"user","content":"hi"}]}`)
	assertOpenAIError(t, code, b, 408, "mock timeout")
	if n := fake.Count(""); n != 0 {
		t.Errorf("a mock_timeout deployment called its provider %d times", n)
	}
}
