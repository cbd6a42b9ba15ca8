package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// genaiAnswer is a GenerateContentResponse as a client reads it.
type genaiAnswer struct {
	Candidates []struct {
		Content struct {
			Role  string `json:"role"`
			Parts []struct {
				Text         *string `json:"text"`
				FunctionCall *struct {
					Name string         `json:"name"`
					Args map[string]any `json:"args"`
				} `json:"functionCall"`
			} `json:"parts"`
		} `json:"content"`
		FinishReason *string `json:"finishReason"`
	} `json:"candidates"`
	UsageMetadata *struct {
		PromptTokenCount     int `json:"promptTokenCount"`
		CandidatesTokenCount int `json:"candidatesTokenCount"`
		TotalTokenCount      int `json:"totalTokenCount"`
	} `json:"usageMetadata"`
}

func (a genaiAnswer) text() string {
	var b strings.Builder
	for _, c := range a.Candidates {
		for _, p := range c.Content.Parts {
			if p.Text != nil {
				b.WriteString(*p.Text)
			}
		}
	}
	return b.String()
}

// genaiPost posts a generateContent body as google-genai clients do (the
// key in x-goog-api-key).
func genaiPost(t *testing.T, url, key, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-goog-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// genaiEvents reads an SSE body's data events.
func genaiEvents(t *testing.T, body []byte) []genaiAnswer {
	t.Helper()
	var out []genaiAnswer
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		d, ok := strings.CutPrefix(strings.TrimRight(sc.Text(), "\r"), "data: ")
		if !ok {
			continue
		}
		if d == "[DONE]" {
			t.Fatalf("a [DONE] event on Google's stream: %s", body)
		}
		var a genaiAnswer
		if err := json.Unmarshal([]byte(d), &a); err != nil {
			t.Fatalf("event %q: %v", d, err)
		}
		out = append(out, a)
	}
	return out
}

// TestGenerateContent: Google's native /v1beta/models/{model}:generateContent
// and :streamGenerateContent through the real Envoy and the router: native
// to a Gemini deployment, translated to and from chat for an OpenAI one, as
// LiteLLM's google_genai routes (D160).
func TestGenerateContent(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{APIKeys: []string{"gm-provider-key", "sk-provider-oa"}})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gem
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: %[1]s/gem, api_key: gm-provider-key}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/oa/v1, api_key: sk-provider-oa}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	body := `{"contents":[{"role":"user","parts":[{"text":"hello there"}]}],"systemInstruction":{"parts":[{"text":"be brief"}]},"generationConfig":{"temperature":0.5,"maxOutputTokens":64}}`

	t.Run("native to Gemini: the body as sent, the answer as Gemini's, priced", func(t *testing.T) {
		for _, path := range []string{"/v1beta/models/gem:generateContent", "/models/gem:generateContent"} {
			fake.Reset()
			st, h, b := genaiPost(t, g.URL+path, master, body)
			if st != 200 {
				t.Fatalf("%s: %d %s", path, st, b)
			}
			var a genaiAnswer
			if err := json.Unmarshal(b, &a); err != nil || a.text() == "" || a.UsageMetadata == nil || a.UsageMetadata.TotalTokenCount == 0 {
				t.Fatalf("%s: answer %s", path, b)
			}
			rec, _ := fake.Last()
			if rec.Path != "/gem/v1beta/models/gemini-2.0-flash:generateContent" || rec.Header.Get("X-Goog-Api-Key") != "gm-provider-key" {
				t.Fatalf("%s: provider request %s %v", path, rec.Path, rec.Header)
			}
			var sent map[string]json.RawMessage
			if err := json.Unmarshal(rec.Body, &sent); err != nil || sent["model"] != nil || string(sent["generationConfig"]) != `{"temperature":0.5,"maxOutputTokens":64}` || sent["contents"] == nil || sent["systemInstruction"] == nil {
				t.Fatalf("%s: provider body %s", path, rec.Body)
			}
			u := a.UsageMetadata
			if c := costHeader(t, h); !near(c, float64(u.PromptTokenCount)*0.000001+float64(u.CandidatesTokenCount)*0.000002) || h.Get("x-litellm-model-group") != "gem" {
				t.Fatalf("%s: cost %v for %+v, group %q", path, c, u, h.Get("x-litellm-model-group"))
			}
			noSecretsInAnswer(t, h, b)
		}
	})

	t.Run("bridged to OpenAI: a chat completion out, Google's answer back", func(t *testing.T) {
		fake.Reset()
		st, h, b := genaiPost(t, g.URL+"/v1beta/models/gpt:generateContent", master, body)
		if st != 200 {
			t.Fatalf("%d %s", st, b)
		}
		var a genaiAnswer
		if err := json.Unmarshal(b, &a); err != nil || len(a.Candidates) != 1 || a.Candidates[0].Content.Role != "model" || a.text() == "" ||
			a.Candidates[0].FinishReason == nil || *a.Candidates[0].FinishReason != "STOP" || a.UsageMetadata == nil || a.UsageMetadata.PromptTokenCount == 0 {
			t.Fatalf("answer %s", b)
		}
		rec, _ := fake.Last()
		if rec.Path != "/oa/v1/chat/completions" || rec.Header.Get("Authorization") != "Bearer sk-provider-oa" {
			t.Fatalf("provider request %s %v", rec.Path, rec.Header)
		}
		var sent struct {
			Model       string  `json:"model"`
			Temperature float64 `json:"temperature"`
			MaxTokens   int     `json:"max_tokens"`
			Messages    []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(rec.Body, &sent); err != nil || sent.Model != "gpt-4o-mini" || sent.Temperature != 0.5 || sent.MaxTokens != 64 || len(sent.Messages) != 2 ||
			sent.Messages[0].Role != "system" || sent.Messages[0].Content != "be brief" || sent.Messages[1].Content != "hello there" {
			t.Fatalf("provider body %s", rec.Body)
		}
		if c := costHeader(t, h); c <= 0 || h.Get("x-litellm-model-group") != "gpt" {
			t.Fatalf("cost %v, group %q", c, h.Get("x-litellm-model-group"))
		}
	})

	t.Run("bridged tools: functionDeclarations and toolConfig ANY as tools and tool_choice required, a functionCall part back", func(t *testing.T) {
		fake.Reset()
		st, _, b := genaiPost(t, g.URL+"/v1beta/models/gpt:generateContent", master,
			`{"contents":[{"role":"user","parts":[{"text":"weather in Paris"}]}],"tools":[{"functionDeclarations":[{"name":"get_weather","description":"w","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}}}}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}}`)
		if st != 200 {
			t.Fatalf("%d %s", st, b)
		}
		var a genaiAnswer
		if err := json.Unmarshal(b, &a); err != nil || len(a.Candidates) != 1 || len(a.Candidates[0].Content.Parts) == 0 {
			t.Fatalf("answer %s", b)
		}
		if fc := a.Candidates[0].Content.Parts[len(a.Candidates[0].Content.Parts)-1].FunctionCall; fc == nil || fc.Name != "get_weather" {
			t.Fatalf("no functionCall part: %s", b)
		}
		rec, _ := fake.Last()
		if !bytes.Contains(rec.Body, []byte(`"tool_choice":"required"`)) || !bytes.Contains(rec.Body, []byte(`"type":"object"`)) || !bytes.Contains(rec.Body, []byte(`"name":"get_weather"`)) {
			t.Fatalf("provider body %s", rec.Body)
		}
	})

	t.Run("streams: Gemini's events as they came, OpenAI's chunks as Google's, no [DONE]", func(t *testing.T) {
		for _, tc := range []struct{ model, provPath string }{
			{"gem", "/gem/v1beta/models/gemini-2.0-flash:streamGenerateContent"},
			{"gpt", "/oa/v1/chat/completions"},
		} {
			fake.Reset()
			st, h, b := genaiPost(t, g.URL+"/v1beta/models/"+tc.model+":streamGenerateContent?alt=sse", master, body)
			if st != 200 || !strings.HasPrefix(h.Get("content-type"), "text/event-stream") {
				t.Fatalf("%s: %d %v %s", tc.model, st, h, b)
			}
			evs := genaiEvents(t, b)
			if len(evs) < 2 {
				t.Fatalf("%s: %d events: %s", tc.model, len(evs), b)
			}
			var text strings.Builder
			for _, e := range evs {
				text.WriteString(e.text())
			}
			last := evs[len(evs)-1]
			if text.Len() == 0 || last.UsageMetadata == nil || last.UsageMetadata.TotalTokenCount == 0 || len(last.Candidates) == 0 ||
				last.Candidates[0].FinishReason == nil || *last.Candidates[0].FinishReason != "STOP" {
				t.Fatalf("%s: stream %s", tc.model, b)
			}
			rec, _ := fake.Last()
			if rec.Path != tc.provPath {
				t.Fatalf("%s: provider path %s", tc.model, rec.Path)
			}
			if tc.model == "gem" && rec.Query != "alt=sse" {
				t.Fatalf("gem: provider query %q", rec.Query)
			}
			if tc.model == "gpt" && !bytes.Contains(rec.Body, []byte(`"stream":true`)) {
				t.Fatalf("gpt: provider body %s", rec.Body)
			}
		}
	})

	t.Run("an unknown model: 400 in OpenAI's shape; no key: 401", func(t *testing.T) {
		st, _, b := genaiPost(t, g.URL+"/v1beta/models/nope:generateContent", master, body)
		if st != 400 || !strings.Contains(string(b), `"error"`) || !strings.Contains(string(b), "nope") {
			t.Fatalf("unknown model: %d %s", st, b)
		}
		st, _, b = genaiPost(t, g.URL+"/v1beta/models/gem:generateContent", "", body)
		if st != 401 {
			t.Fatalf("no key: %d %s", st, b)
		}
	})
	noInternalHeaders(t, fake)
}
