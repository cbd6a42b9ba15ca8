package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// responsesConfig: an OpenAI group, an Azure group, an Anthropic group
// (bridged through chat), a group of two OpenAI deployments with their own
// ids, an OpenAI group whose provider always fails with a fallback to the
// Anthropic one, and a mock; all priced; keys and spend on.
func responsesConfig(fake, oaiKey, azKey, antKey string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: gpt-native
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: %[2]s}
    model_info: {id: native-1, input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: gpt-azure
    litellm_params: {model: azure/my-deploy, api_base: %[1]s/az, api_key: %[3]s, api_version: "2025-03-01-preview"}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: claude-bridged
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: %[1]s, api_key: %[4]s}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: gpt-lb
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/lb-a/v1, api_key: %[2]s}
    model_info: {id: lb-a}
  - model_name: gpt-lb
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/lb-b/v1, api_key: %[2]s}
    model_info: {id: lb-b}
  - model_name: gpt-broken
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/broken/v1, api_key: %[2]s}
  - model_name: mocked
    litellm_params: {model: openai/gpt-4o, api_key: %[2]s, mock_response: "a mocked answer"}
router_settings:
  num_retries: 0
  fallbacks: [{gpt-broken: [claude-bridged]}]
general_settings:
  master_key: %[5]s
  proxy_batch_write_at: 1
`, fake, oaiKey, azKey, antKey, master)
}

// TestResponsesRoute (D137): LiteLLM's Responses API with openai-go's
// Responses client through Envoy, on both request filters. An OpenAI and
// an Azure deployment get the body natively at their /responses; an
// Anthropic one gets a chat completion (as a Messages request), and the
// client a Response and Responses events either way; the id LiteLLM
// encodes leads previous_response_id and GET/DELETE/input_items/cancel back
// to the deployment that answered; a failing group falls back; a virtual
// key's spend grows; an unknown model, a wrong key and an id naming no
// deployment are refused before any provider call.
func TestResponsesRoute(t *testing.T) {
	for _, mode := range []string{"module", "extproc"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("LLMGATE_REQUEST_FILTER", mode)
			testResponsesRoute(t)
		})
	}
}

func testResponsesRoute(t *testing.T) {
	const oaiKey, azKey, antKey = "sk-oai-provider-secret", "az-provider-secret", "sk-ant-provider-secret"
	fake := fakeprovider.StartT(t, fakeprovider.Options{APIKeys: []string{oaiKey, azKey, antKey}})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/broken/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, responsesConfig(fake.URL(), oaiKey, azKey, antKey))
	k := keyAPI{t, g}
	key, _ := k.generate(`{"models":["gpt-native","gpt-azure","claude-bridged","gpt-lb","gpt-broken","mocked"]}`)

	noLeak := func(what string, h http.Header, body string) {
		t.Helper()
		assertNoLeak(t, what, h, body, oaiKey, azKey, antKey)
	}
	var lastHeaders http.Header
	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			resp, err := next(r)
			if resp != nil {
				lastHeaders = resp.Header
			}
			return resp, err
		}))
	params := func(model, prompt string) responses.ResponseNewParams {
		return responses.ResponseNewParams{Model: model, Instructions: openai.String("be brief"),
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(prompt)}}
	}
	ctx := context.Background()

	// decoded is LiteLLM's id taken apart: provider, deployment, provider id.
	decoded := func(id string) (string, string, string) {
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(id, "resp_"))
		if err != nil {
			return "", "", ""
		}
		var p, d, r string
		s := strings.TrimPrefix(string(b), "litellm:custom_llm_provider:")
		p, s, _ = strings.Cut(s, ";model_id:")
		d, r, _ = strings.Cut(s, ";response_id:")
		return p, d, r
	}

	for _, c := range []struct {
		model, path, keyHeader, want, provider string
	}{
		{"gpt-native", "/v1/responses", "Authorization", "Bearer " + oaiKey, "openai"},
		{"gpt-azure", "/az/openai/responses", "Api-Key", azKey, "azure"},
		{"claude-bridged", "/v1/messages", "X-Api-Key", antKey, "anthropic"},
	} {
		t.Run(c.model, func(t *testing.T) {
			r, err := client.Responses.New(ctx, params(c.model, "hello "+c.model))
			if err != nil {
				t.Fatalf("responses.new: %v\n%s", err, g.Logs())
			}
			if r.Object != "response" || r.Status != "completed" || !strings.Contains(r.OutputText(), "hello "+c.model) ||
				r.Usage.InputTokens == 0 || r.Usage.OutputTokens == 0 || r.Usage.TotalTokens != r.Usage.InputTokens+r.Usage.OutputTokens {
				t.Errorf("the Response: %s", r.RawJSON())
			}
			if p, d, orig := decoded(r.ID); p != c.provider || d == "" || orig == "" {
				t.Errorf("the id %q is not LiteLLM's (provider %q deployment %q id %q)", r.ID, p, d, orig)
			}
			last, _ := fake.Last()
			if last.Path != c.path || last.Header.Get(c.keyHeader) != c.want {
				t.Errorf("the provider got %s with %s %q; want %s with the deployment's key", last.Path, c.keyHeader, last.Header.Get(c.keyHeader), c.path)
			}
			if strings.Contains(fmt.Sprint(last.Header), key) {
				t.Errorf("the client's key reached the provider")
			}
			var sent map[string]any
			_ = json.Unmarshal(last.Body, &sent)
			switch c.provider {
			case "anthropic":
				if sent["system"] == nil || sent["model"] != "claude-3-5-sonnet-20241022" {
					t.Errorf("the bridged request: %s", last.Body)
				}
			case "azure":
				if last.Query != "api-version=2025-03-01-preview" || sent["model"] != "my-deploy" || sent["input"] != "hello "+c.model {
					t.Errorf("the Azure request: %s?%s %s", last.Path, last.Query, last.Body)
				}
			default:
				if sent["model"] != "gpt-4o" || sent["input"] != "hello "+c.model || sent["instructions"] != "be brief" {
					t.Errorf("the native body: %s", last.Body)
				}
			}
			if lastHeaders.Get("x-litellm-model-group") != c.model || lastHeaders.Get("x-litellm-response-cost") == "" {
				t.Errorf("x-litellm headers: group %q cost %q", lastHeaders.Get("x-litellm-model-group"), lastHeaders.Get("x-litellm-response-cost"))
			}
			noLeak(c.model, lastHeaders, r.RawJSON())

			stream := client.Responses.NewStreaming(ctx, params(c.model, "stream "+c.model))
			var text strings.Builder
			var final responses.Response
			got, err := readEventRuns(stream, func(ev responses.ResponseStreamEventUnion) string { return ev.Type },
				func(ev responses.ResponseStreamEventUnion) {
					switch ev.Type {
					case "response.output_text.delta":
						text.WriteString(ev.Delta)
					case "response.completed":
						final = ev.Response
					}
				})
			if err != nil {
				t.Fatalf("stream: %v\n%s", err, g.Logs())
			}
			want := "response.created,response.in_progress,response.output_item.added,response.content_part.added,response.output_text.delta," +
				"response.output_text.done,response.content_part.done,response.output_item.done,response.completed"
			if got != want || !strings.Contains(text.String(), "stream "+c.model) {
				t.Errorf("stream events %s, text %q", got, text.String())
			}
			if p, _, _ := decoded(final.ID); p != c.provider || final.Usage.OutputTokens == 0 || final.OutputText() != text.String() {
				t.Errorf("response.completed: %s", final.RawJSON())
			}
			noLeak(c.model+" stream", lastHeaders, "")
		})
	}

	t.Run("a tool call through the bridge", func(t *testing.T) {
		p := params("claude-bridged", "use the tool")
		p.Tools = []responses.ToolUnionParam{responses.ToolParamOfFunction("lookup", map[string]any{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}}, false)}
		p.ToolChoice = responses.ResponseNewParamsToolChoiceUnion{OfFunctionTool: &responses.ToolChoiceFunctionParam{Name: "lookup"}}
		r, err := client.Responses.New(ctx, p)
		if err != nil {
			t.Fatalf("responses.new: %v\n%s", err, g.Logs())
		}
		var call *responses.ResponseFunctionToolCall
		for _, it := range r.Output {
			if it.Type == "function_call" {
				fc := it.AsFunctionCall()
				call = &fc
			}
		}
		if call == nil || call.Name != "lookup" || call.CallID == "" || !strings.Contains(call.Arguments, "query") {
			t.Errorf("the function call: %s", r.RawJSON())
		}
		last, _ := fake.Last()
		if !strings.Contains(string(last.Body), `"tool_choice":{"type":"tool","name":"lookup"}`) {
			t.Errorf("the bridged tool_choice: %s", last.Body)
		}
	})

	t.Run("the id leads follow-ups back to the deployment", func(t *testing.T) {
		first, err := client.Responses.New(ctx, params("gpt-lb", "remember me"))
		if err != nil {
			t.Fatalf("responses.new: %v\n%s", err, g.Logs())
		}
		_, dep, orig := decoded(first.ID)
		prefix := "/" + dep + "/"
		if last, _ := fake.Last(); (dep != "lb-a" && dep != "lb-b") || !strings.HasPrefix(last.Path, prefix) {
			t.Fatalf("the id names %q; the provider answered at %s", dep, last.Path)
		}
		for i := 0; i < 4; i++ {
			got, err := client.Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
			if err != nil {
				t.Fatalf("responses.get: %v\n%s", err, g.Logs())
			}
			last, _ := fake.Last()
			if got.ID != first.ID || got.OutputText() != first.OutputText() || last.Method != "GET" || last.Path != prefix+"v1/responses/"+orig {
				t.Errorf("GET %d: id %q at %s %s", i, got.ID, last.Method, last.Path)
			}
			if lastHeaders.Get("x-litellm-response-cost") != "" {
				t.Errorf("reading a response was priced: %s", lastHeaders.Get("x-litellm-response-cost"))
			}
		}
		items, err := client.Responses.InputItems.List(ctx, first.ID, responses.InputItemListParams{})
		if err != nil || len(items.Data) != 1 {
			t.Errorf("input_items: %v %+v", err, items)
		}
		if last, _ := fake.Last(); last.Path != prefix+"v1/responses/"+orig+"/input_items" {
			t.Errorf("input_items reached %s", last.Path)
		}
		// previous_response_id reaches the provider as its own id (the
		// fake answers 404 to one it did not issue).
		p := params("gpt-native", "and again")
		seed, err := client.Responses.New(ctx, params("gpt-native", "first turn"))
		if err != nil {
			t.Fatal(err)
		}
		p.PreviousResponseID = openai.String(seed.ID)
		if _, err := client.Responses.New(ctx, p); err != nil {
			t.Errorf("previous_response_id: %v\n%s", err, g.Logs())
		}
		if last, _ := fake.Last(); !strings.Contains(string(last.Body), `"previous_response_id":"resp_fake`) {
			t.Errorf("previous_response_id sent: %s", last.Body)
		}
		// Cancel reaches the provider (which refuses a response not in background mode).
		_, err = client.Responses.Cancel(ctx, first.ID)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "background") {
			t.Errorf("cancel: %v", err)
		}
		if last, _ := fake.Last(); last.Method != "POST" || last.Path != prefix+"v1/responses/"+orig+"/cancel" {
			t.Errorf("cancel reached %s %s", last.Method, last.Path)
		}
		if err := client.Responses.Delete(ctx, first.ID); err != nil {
			t.Errorf("delete: %v\n%s", err, g.Logs())
		}
		if last, _ := fake.Last(); last.Method != "DELETE" || last.Path != prefix+"v1/responses/"+orig {
			t.Errorf("delete reached %s %s", last.Method, last.Path)
		}
		_, err = client.Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Errorf("GET after DELETE: %v", err)
		}
	})

	t.Run("fallback from a failing group", func(t *testing.T) {
		before := fake.Count("/broken/")
		r, err := client.Responses.New(ctx, params("gpt-broken", "hello fallback"))
		if err != nil {
			t.Fatalf("responses.new: %v\n%s", err, g.Logs())
		}
		if fake.Count("/broken/") == before || !strings.Contains(r.OutputText(), "hello fallback") {
			t.Errorf("the fallback: %s (broken tried %d times)", r.RawJSON(), fake.Count("/broken/")-before)
		}
		if lastHeaders.Get("x-litellm-model-group") != "claude-bridged" || lastHeaders.Get("x-litellm-attempted-fallbacks") != "1" {
			t.Errorf("fallback headers: group %q fallbacks %q", lastHeaders.Get("x-litellm-model-group"), lastHeaders.Get("x-litellm-attempted-fallbacks"))
		}
	})

	t.Run("a mock_response deployment answers a Response", func(t *testing.T) {
		before := fake.Count("/")
		r, err := client.Responses.New(ctx, params("mocked", "x"))
		if err != nil || r.OutputText() != "a mocked answer" || r.Status != "completed" {
			t.Errorf("mock: %v %+v", err, r)
		}
		if fake.Count("/") != before {
			t.Errorf("a mock called the provider")
		}
	})

	t.Run("a virtual key's spend grows", func(t *testing.T) {
		deadline := time.Now().Add(15 * time.Second)
		for k.spend(key) == 0 && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		s0 := k.spend(key)
		if s0 == 0 {
			t.Fatalf("no spend after the key's requests")
		}
		if _, err := client.Responses.New(ctx, params("claude-bridged", "more spend")); err != nil {
			t.Fatal(err)
		}
		for k.spend(key) <= s0 && time.Now().Before(deadline.Add(10*time.Second)) {
			time.Sleep(200 * time.Millisecond)
		}
		if s1 := k.spend(key); s1 <= s0 {
			t.Errorf("the key's spend did not grow: %v → %v", s0, s1)
		}
		// The spend logs name LiteLLM's call type of the route.
		var rows []map[string]any
		for deadline := time.Now().Add(10 * time.Second); ; {
			st, _, b := do(t, "GET", g.URL+"/spend/logs?api_key="+key, master, "")
			if st != 200 || json.Unmarshal(b, &rows) != nil {
				t.Fatalf("/spend/logs: %d %s", st, b)
			}
			if len(rows) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(rows) == 0 {
			t.Fatalf("no spend log rows")
		}
		for _, r := range rows {
			if r["call_type"] != "aresponses" {
				t.Errorf("spend log row: %v", r)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		before := fake.Count("/")
		_, err := client.Responses.New(ctx, params("no-such-model", "x"))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "no-such-model") {
			t.Errorf("an unknown model: %v", err)
		}
		if code, h, b := do(t, "POST", g.URL+"/responses", "sk-wrong", `{"model":"gpt-native","input":"x"}`); code != 401 || !strings.Contains(string(b), `"error"`) {
			t.Errorf("a wrong key: %d %s", code, b)
		} else {
			noLeak("a wrong key", h, string(b))
		}
		if code, _, b := do(t, "GET", g.URL+"/v1/responses/resp_not_ours", key, ""); code != 400 || !strings.Contains(string(b), "names no deployment") {
			t.Errorf("an id naming no deployment: %d %s", code, b)
		}
		if n := fake.Count("/"); n != before {
			t.Errorf("refused requests reached the provider (%d)", n-before)
		}
	})
}
