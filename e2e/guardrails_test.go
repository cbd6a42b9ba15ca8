package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// fakeGuardrails are the guardrail services of TestGuardrails, speaking
// their wire formats: LiteLLM's generic guardrail API (a text with
// "forbidden" is blocked, an answer with "secret-answer" too) and
// Presidio's analyzer and anonymizer (e-mail addresses and card numbers).
type fakeGuardrails struct {
	generic, presidio, moderation *httptest.Server
	mu                            sync.Mutex
	moderationAuth                string
	calls                         []map[string]any // the generic API's requests
	analyzed                      int
}

var (
	emailRE = regexp.MustCompile(`[\w.]+@[\w.]+\.\w+`)
	cardRE  = regexp.MustCompile(`\d{4}-\d{4}-\d{4}-\d{4}`)
)

func startFakeGuardrails(t *testing.T) *fakeGuardrails {
	f := &fakeGuardrails{}
	f.generic = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		if r.URL.Path != "/beta/litellm_basic_guardrail_api" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", 400)
			return
		}
		f.mu.Lock()
		f.calls = append(f.calls, req)
		f.mu.Unlock()
		texts, _ := req["texts"].([]any)
		for _, tx := range texts {
			s, _ := tx.(string)
			if strings.Contains(s, "forbidden") || (req["input_type"] == "response" && strings.Contains(s, "secret-answer")) {
				_, _ = w.Write([]byte(`{"action":"BLOCKED","blocked_reason":"no forbidden words"}`))
				return
			}
		}
		_, _ = w.Write([]byte(`{"action":"NONE"}`))
	}))
	t.Cleanup(f.generic.Close)
	// Presidio: /analyze finds entities (offsets in characters), /anonymize
	// replaces each with <ENTITY_TYPE> (its default replace operator).
	f.presidio = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Text     string `json:"text"`
			Language string `json:"language"`
			Results  []struct {
				EntityType string  `json:"entity_type"`
				Start      int     `json:"start"`
				End        int     `json:"end"`
				Score      float64 `json:"score"`
			} `json:"analyzer_results"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", 400)
			return
		}
		runes := []rune(req.Text)
		switch r.URL.Path {
		case "/analyze":
			f.mu.Lock()
			f.analyzed++
			f.mu.Unlock()
			var out []map[string]any
			for _, m := range []struct {
				re  *regexp.Regexp
				typ string
			}{{emailRE, "EMAIL_ADDRESS"}, {cardRE, "CREDIT_CARD"}} {
				for _, loc := range m.re.FindAllStringIndex(req.Text, -1) {
					out = append(out, map[string]any{"entity_type": m.typ, "start": len([]rune(req.Text[:loc[0]])), "end": len([]rune(req.Text[:loc[1]])), "score": 1.0})
				}
			}
			if out == nil {
				out = []map[string]any{}
			}
			_ = json.NewEncoder(w).Encode(out)
		case "/anonymize":
			var b strings.Builder
			var items []map[string]any
			at := 0
			for _, res := range req.Results { // in order, not overlapping (the test's texts)
				b.WriteString(string(runes[at:res.Start]))
				tok := "<" + res.EntityType + ">"
				start := len([]rune(b.String()))
				b.WriteString(tok)
				items = append(items, map[string]any{"start": start, "end": start + len([]rune(tok)), "entity_type": res.EntityType, "text": tok, "operator": "replace"})
				at = res.End
			}
			b.WriteString(string(runes[at:]))
			_ = json.NewEncoder(w).Encode(map[string]any{"text": b.String(), "items": items})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.presidio.Close)
	// OpenAI's moderation API: "hateful" is flagged.
	f.moderation = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
			Input string `json:"input"`
		}
		if r.URL.Path != "/v1/moderations" || json.NewDecoder(r.Body).Decode(&req) != nil || req.Model != "omni-moderation-latest" {
			http.Error(w, "bad request", 400)
			return
		}
		f.mu.Lock()
		f.moderationAuth = r.Header.Get("authorization")
		f.mu.Unlock()
		flagged := strings.Contains(req.Input, "hateful")
		fmt.Fprintf(w, `{"id":"modr-1","model":"omni-moderation-latest","results":[{"flagged":%t,"categories":{"harassment":false,"hate":%t},"category_scores":{"harassment":0.01,"hate":0.97}}]}`, flagged, flagged)
	}))
	t.Cleanup(f.moderation.Close)
	return f
}

func (f *fakeGuardrails) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls, f.analyzed = nil, 0
}

// inputTypes are the generic API's calls' input_type values, in order.
func (f *fakeGuardrails) inputTypes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		s, _ := c["input_type"].(string)
		out = append(out, s)
	}
	return out
}

func guardrailsConfig(fake, generic, presidio, moderation string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt, api_base: %[1]s/v1, api_key: k}
general_settings:
  master_key: %[4]s
guardrails:
  - guardrail_name: words-pre
    litellm_params:
      guardrail: generic_guardrail_api
      mode: pre_call
      api_base: %[2]s
      default_on: true
  - guardrail_name: words-post
    litellm_params:
      guardrail: generic_guardrail_api
      mode: [post_call]
      api_base: %[2]s
  - guardrail_name: pii
    litellm_params:
      guardrail: presidio
      mode: pre_call
      presidio_analyzer_api_base: %[3]s
      presidio_anonymizer_api_base: %[3]s
      output_parse_pii: true
      pii_entities_config:
        EMAIL_ADDRESS: MASK
        CREDIT_CARD: BLOCK
  - guardrail_name: mod
    litellm_params:
      guardrail: openai_moderation
      mode: [pre_call, post_call]
      api_base: %[5]s/v1
      api_key: sk-moderation
`, fake, generic, presidio, master, moderation)
}

// TestGuardrails (D139): LiteLLM's guardrails through the real Envoy with
// openai-go against fake guardrail services: a default_on pre_call block
// (LiteLLM's status and error JSON), Presidio's masking of the request
// before the provider and the answer's tokens parsed back, a BLOCK entity,
// a post_call block of the answer, and default_on against the guardrails a
// request names (body and metadata).
func TestGuardrails(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	fg := startFakeGuardrails(t)
	g := startGateway(t, guardrailsConfig(fake.URL(), fg.generic.URL, fg.presidio.URL, fg.moderation.URL))
	client := newClient(g, master)
	ctx := context.Background()
	chat := func(text string, opts ...option.RequestOption) (*openai.ChatCompletion, error) {
		return client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)},
		}, opts...)
	}
	wantError := func(t *testing.T, err error, status int, msg string) {
		t.Helper()
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("want a %d error, got %v", status, err)
		}
		typ := "invalid_request_error"
		if status >= 500 {
			typ = "internal_server_error"
		}
		if apiErr.StatusCode != status || apiErr.Message != msg || apiErr.Type != typ || apiErr.Param != "" || apiErr.Code != fmt.Sprint(status) {
			t.Fatalf("error %d %q type %q param %q code %q, want %d %q type %s param null code %d", apiErr.StatusCode, apiErr.Message, apiErr.Type, apiErr.Param, apiErr.Code, status, msg, typ, status)
		}
	}

	t.Run("default_on pre_call blocks", func(t *testing.T) {
		fake.Reset()
		fg.reset()
		_, err := chat("tell me the forbidden thing")
		wantError(t, err, 400, "no forbidden words")
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("a blocked request reached the provider (%d requests)", n)
		}
		// The exact body, as LiteLLM's proxy answers a guardrail's block.
		code, _, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("gpt", "the forbidden word"))
		want := `{"error":{"message":"no forbidden words","type":"invalid_request_error","param":null,"code":"400"}}`
		var got, exp any
		_ = json.Unmarshal(b, &got)
		_ = json.Unmarshal([]byte(want), &exp)
		if code != 400 || fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Errorf("raw answer %d %s, want 400 %s", code, b, want)
		}
	})

	t.Run("default_on only when the request names none", func(t *testing.T) {
		fake.Reset()
		fg.reset()
		var raw *http.Response
		resp, err := chat("hello there", option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		// Only a pre_call guardrail ran: LiteLLM names it all the same (D149).
		if got := raw.Header.Get("x-litellm-applied-guardrails"); got != "words-pre" {
			t.Errorf("x-litellm-applied-guardrails %q, want words-pre", got)
		}
		if got := fg.inputTypes(); len(got) != 1 || got[0] != "request" {
			t.Errorf("generic guardrail calls %v, want only the default_on pre_call one", got)
		}
		if fg.analyzed != 0 {
			t.Errorf("presidio ran %d times on a request that did not name it", fg.analyzed)
		}
		if !strings.Contains(resp.Choices[0].Message.Content, "hello there") {
			t.Errorf("answer %q", resp.Choices[0].Message.Content)
		}
	})

	t.Run("presidio masks the request and parses the answer", func(t *testing.T) {
		fake.Reset()
		fg.reset()
		var raw *http.Response
		resp, err := chat("my email is jane.doe@example.com, reply", option.WithJSONSet("guardrails", []string{"pii"}), option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := raw.Header.Get("x-litellm-applied-guardrails"); got != "words-pre,pii" {
			t.Errorf("x-litellm-applied-guardrails %q, want words-pre,pii (the default_on one, then the named one)", got)
		}
		last, ok := fake.Last()
		if !ok {
			t.Fatal("nothing reached the provider")
		}
		var sent struct {
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		_ = json.Unmarshal(last.Body, &sent)
		if len(sent.Messages) != 1 || sent.Messages[0].Content != "my email is <EMAIL_ADDRESS>, reply" {
			t.Errorf("the provider got %s, want the e-mail masked", last.Body)
		}
		if strings.Contains(string(last.Body), "jane.doe") || strings.Contains(string(last.Body), "guardrails") {
			t.Errorf("the provider got %s", last.Body)
		}
		// The fake provider echoes the masked text; output_parse_pii puts
		// the address back.
		if c := resp.Choices[0].Message.Content; !strings.Contains(c, "jane.doe@example.com") || strings.Contains(c, "<EMAIL_ADDRESS>") {
			t.Errorf("answer %q, want the address parsed back", c)
		}
	})

	t.Run("presidio BLOCK entity", func(t *testing.T) {
		fake.Reset()
		_, err := chat("card 4111-1111-1111-1111", option.WithJSONSet("guardrails", []string{"pii"}))
		wantError(t, err, 400, "Blocked entity detected: CREDIT_CARD by Guardrail: pii. This entity is not allowed to be used in this request.")
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("a blocked request reached the provider (%d requests)", n)
		}
	})

	t.Run("post_call blocks the answer", func(t *testing.T) {
		for _, o := range []option.RequestOption{
			option.WithJSONSet("guardrails", []string{"words-post"}),
			option.WithJSONSet("metadata", map[string]any{"guardrails": []string{"words-post"}}),
		} {
			fake.Reset()
			fg.reset()
			_, err := chat("say secret-answer", o)
			wantError(t, err, 400, "no forbidden words")
			if n := len(fake.Requests()); n != 1 {
				t.Errorf("the provider got %d requests, want 1 (post_call checks its answer)", n)
			}
			if got := fg.inputTypes(); len(got) != 2 || got[0] != "request" || got[1] != "response" {
				t.Errorf("generic guardrail calls %v, want request then response", got)
			}
		}
		// Not named: the same answer goes through.
		fake.Reset()
		resp, err := chat("say secret-answer")
		if err != nil || !strings.Contains(resp.Choices[0].Message.Content, "secret-answer") {
			t.Fatalf("without words-post: %v %v", resp, err)
		}
	})

	t.Run("a key's and a team's guardrails replace the request's", func(t *testing.T) {
		k := keyAPI{t: t, g: g}
		keyed, _ := k.generate(`{"guardrails":["words-post"]}`)
		if st, m := k.call("POST", "/team/new", master, `{"team_id":"guarded","metadata":{"guardrails":["words-post"]}}`); st != 200 {
			t.Fatalf("/team/new: %d %v", st, m)
		}
		teamed, _ := k.generate(`{"team_id":"guarded"}`)
		for _, key := range []string{keyed, teamed} {
			fake.Reset()
			fg.reset()
			kc := newClient(g, key)
			_, err := kc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:    "gpt",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("say secret-answer jane@example.com")},
			}, option.WithJSONSet("guardrails", []string{"pii"}))
			wantError(t, err, 400, "no forbidden words")
			if fg.analyzed != 0 {
				t.Errorf("presidio ran: the request's guardrails were not replaced by the key's")
			}
		}
	})

	t.Run("disable_global_guardrails on a key or its team", func(t *testing.T) {
		k := keyAPI{t: t, g: g}
		keyed, _ := k.generate(`{"metadata":{"disable_global_guardrails":true}}`)
		if st, m := k.call("POST", "/team/new", master, `{"team_id":"unguarded","metadata":{"disable_global_guardrails":true}}`); st != 200 {
			t.Fatalf("/team/new: %d %v", st, m)
		}
		teamed, _ := k.generate(`{"team_id":"unguarded"}`)
		for _, key := range []string{keyed, teamed} {
			fake.Reset()
			fg.reset()
			kc := newClient(g, key)
			resp, err := kc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:    "gpt",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("tell me the forbidden thing")},
			})
			if err != nil || !strings.Contains(resp.Choices[0].Message.Content, "forbidden") {
				t.Fatalf("the default_on guardrail ran for a key with disable_global_guardrails: %v", err)
			}
			if got := fg.inputTypes(); len(got) != 0 {
				t.Errorf("generic guardrail calls %v, want none", got)
			}
			// A guardrail the request names still runs.
			_, err = kc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:    "gpt",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("say secret-answer")},
			}, option.WithJSONSet("guardrails", []string{"words-post"}))
			wantError(t, err, 400, "no forbidden words")
		}
	})

	t.Run("openai_moderation flags the request and the answer", func(t *testing.T) {
		want := "{'error': 'Violated OpenAI moderation policy', 'moderation_result': {'violated_categories': ['hate'], 'category_scores': {'harassment': 0.01, 'hate': 0.97}}}"
		fake.Reset()
		_, err := chat("some hateful words", option.WithJSONSet("guardrails", []string{"mod"}))
		wantError(t, err, 400, want)
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("a flagged request reached the provider (%d requests)", n)
		}
		if fg.moderationAuth != "Bearer sk-moderation" {
			t.Errorf("the moderation API got authorization %q", fg.moderationAuth)
		}
		// The answer: the request ends with an assistant message, so its
		// last block of user messages (what LiteLLM checks) is empty; the
		// fake provider echoes the last user text, and post_call flags it.
		fake.Reset()
		_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "gpt",
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.UserMessage("some hateful words"),
				openai.AssistantMessage("ok"),
			},
		}, option.WithJSONSet("guardrails", []string{"mod"}))
		if n := len(fake.Requests()); n != 1 {
			t.Errorf("the provider got %d requests, want 1", n)
		}
		wantError(t, err, 400, want)
	})
}
