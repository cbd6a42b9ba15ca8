package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// TestJSONSchemaValidation (D148): with litellm_settings.
// enable_json_schema_validation a non-streamed answer to a request with
// response_format json_schema is checked against the schema, through Envoy
// on both request filters with the official SDK: a matching answer is
// served; an answer that is not JSON, or JSON the schema refuses, is
// LiteLLM's 500 (type internal_server_error, its
// "litellm.APIResponseValidationError: litellm.JSONSchemaValidationError: …"
// message with Python's json.dumps of the schema); the failure is the
// deployment's, so the group's fallback serves the request; a request
// without response_format and a stream are not checked; the request's own
// enable_json_schema_validation wins over the setting either way (the
// setting off, a request asking for it: the 500).
func TestJSONSchemaValidation(t *testing.T) {
	notJSON := fakeprovider.StartT(t, fakeprovider.Options{})
	wrong := fakeprovider.StartT(t, fakeprovider.Options{Reply: `{"name":"Ada"}`})
	good := fakeprovider.StartT(t, fakeprovider.Options{Reply: `{"name":"Ada","age":36}`})
	cfg := fmt.Sprintf(`
model_list:
  - model_name: notjson
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
  - model_name: wrong
    litellm_params: {model: openai/gpt-4o, api_base: %[2]s/v1, api_key: k}
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[3]s/v1, api_key: k}
  - model_name: wrong-fb
    litellm_params: {model: openai/gpt-4o, api_base: %[2]s/v1, api_key: k}
litellm_settings:
  enable_json_schema_validation: true
router_settings:
  num_retries: 0
  fallbacks: [{"wrong-fb": ["good"]}]
`, notJSON.URL(), wrong.URL(), good.URL())
	schema := json.RawMessage(`{"type":"object","properties":{"name":{"type":"string","description":"naïve"},"age":{"type":"integer","minimum":0.5}},"required":["name","age"]}`)
	const pySchema = `{"type": "object", "properties": {"name": {"type": "string", "description": "na\u00efve"}, "age": {"type": "integer", "minimum": 0.5}}, "required": ["name", "age"]}`
	params := func(model string) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("who?")},
			ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "person", Schema: schema}}}}
	}
	ctx := context.Background()
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, cfg, mode.args)
			c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey("any"), option.WithMaxRetries(0))

			r, err := c.Chat.Completions.New(ctx, params("good"))
			if err != nil || r.Choices[0].Message.Content != `{"name":"Ada","age":36}` {
				t.Fatalf("matching answer: %v", err)
			}
			for _, tc := range []struct{ model, content string }{
				{"wrong", `{"name":"Ada"}`},
				{"notjson", "fake response to: who?"},
			} {
				_, err = c.Chat.Completions.New(ctx, params(tc.model))
				want := "litellm.APIResponseValidationError: litellm.JSONSchemaValidationError: model=, returned an invalid response=" + tc.content +
					", for schema=" + pySchema + ".\nAccess raw response with `e.raw_response`"
				var oe *openai.Error
				if !errors.As(err, &oe) || oe.StatusCode != 500 || oe.Type != "internal_server_error" || len(oe.Message) < len(want) || oe.Message[:len(want)] != want {
					t.Errorf("%s: %v\nwant 500 internal_server_error %q", tc.model, err, want)
				}
			}
			wrong.Reset()
			good.Reset()
			r, err = c.Chat.Completions.New(ctx, params("wrong-fb"))
			if err != nil || r.Choices[0].Message.Content != `{"name":"Ada","age":36}` || len(wrong.Requests()) != 1 || len(good.Requests()) != 1 {
				t.Errorf("fallback after a mismatch: %v (wrong got %d, good %d requests)", err, len(wrong.Requests()), len(good.Requests()))
			}
			p := params("wrong")
			p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{}
			if _, err := c.Chat.Completions.New(ctx, p); err != nil {
				t.Errorf("without response_format: %v", err)
			}
			// The request's own enable_json_schema_validation wins over the
			// setting, and never reaches the provider (LiteLLM's param).
			wrong.Reset()
			if _, err := c.Chat.Completions.New(ctx, params("wrong"), option.WithJSONSet("enable_json_schema_validation", false)); err != nil {
				t.Errorf("enable_json_schema_validation: false in the request: %v", err)
			}
			if last, _ := wrong.Last(); strings.Contains(string(last.Body), "enable_json_schema_validation") {
				t.Errorf("the param reached the provider: %s", last.Body)
			}
			off := startGatewayArgs(t, strings.Replace(cfg, "enable_json_schema_validation: true", "enable_json_schema_validation: false", 1), mode.args)
			co := openai.NewClient(option.WithBaseURL(off.URL+"/v1"), option.WithAPIKey("any"), option.WithMaxRetries(0))
			if _, err := co.Chat.Completions.New(ctx, params("wrong")); err != nil {
				t.Errorf("setting off: %v", err)
			}
			_, err = co.Chat.Completions.New(ctx, params("wrong"), option.WithJSONSet("enable_json_schema_validation", true))
			if oe := (*openai.Error)(nil); !errors.As(err, &oe) || oe.StatusCode != 500 {
				t.Errorf("setting off, enable_json_schema_validation: true in the request: %v", err)
			}
			s := c.Chat.Completions.NewStreaming(ctx, params("wrong"))
			for s.Next() {
			}
			if err := s.Err(); err != nil {
				t.Errorf("stream: %v", err)
			}
		})
	}
}
