package fakeprovider

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const geminiBody = `{"contents":[{"role":"user","parts":[{"text":"hello gemini"}]}],"systemInstruction":{"parts":[{"text":"be brief"}]}}`

type gmTestResponse struct {
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
		FinishReason string `json:"finishReason"`
	} `json:"candidates"`
	UsageMetadata gmUsage `json:"usageMetadata"`
	ResponseID    string  `json:"responseId"`
}

func fetchVertexToken(t *testing.T, s *Server) string {
	t.Helper()
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"}}
	resp, err := http.PostForm(s.URL()+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	if !strings.HasPrefix(tok.AccessToken, "fake-token-") || tok.ExpiresIn != 3600 || tok.TokenType != "Bearer" {
		t.Fatalf("token = %+v", tok)
	}
	return tok.AccessToken
}

func TestGeminiGenerate(t *testing.T) {
	s := StartT(t, Options{APIKeys: []string{"goog-key"}, StreamChunks: 3})
	token := fetchVertexToken(t, s)
	const vertex = "/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash"
	tests := []struct {
		name       string
		path       string
		headers    map[string]string
		body       string
		wantStatus int
		wantText   string
		wantCall   string
		wantFinish string
	}{
		{"studio header key", "/v1beta/models/gemini-2.0-flash:generateContent", map[string]string{"x-goog-api-key": "goog-key"}, geminiBody, 200, "fake response to: hello gemini", "", "STOP"},
		{"studio query key", "/v1beta/models/gemini-2.0-flash:generateContent?key=goog-key", nil, geminiBody, 200, "fake response to: hello gemini", "", "STOP"},
		{"studio bad key", "/v1beta/models/gemini-2.0-flash:generateContent?key=nope", nil, geminiBody, 400, "", "", ""},
		{"studio no key", "/v1beta/models/gemini-2.0-flash:generateContent", nil, geminiBody, 403, "", "", ""},
		{"vertex token", vertex + ":generateContent", map[string]string{"Authorization": "Bearer " + token}, geminiBody, 200, "fake response to: hello gemini", "", "STOP"},
		{"vertex no token", vertex + ":generateContent", nil, geminiBody, 401, "", "", ""},
		{"vertex unknown token", vertex + ":generateContent", map[string]string{"Authorization": "Bearer fake-token-forged"}, geminiBody, 401, "", "", ""},
		{"function call", "/v1beta/models/g:generateContent?key=goog-key", nil, `{"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"get_weather"}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}}`, 200, "", "get_weather", "STOP"},
		{"safety", "/v1beta/models/g:generateContent?key=goog-key", map[string]string{"x-fake-finish-reason": "content_filter"}, geminiBody, 200, "fake response to: hello gemini", "", "SAFETY"},
		{"quota", "/v1beta/models/g:generateContent?key=goog-key", map[string]string{"x-fake-status": "429"}, geminiBody, 429, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, s.URL()+tt.path, tt.body, tt.headers)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus != 200 {
				var e struct {
					Error struct {
						Code    int    `json:"code"`
						Message string `json:"message"`
						Status  string `json:"status"`
					} `json:"error"`
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != tt.wantStatus || e.Error.Status != geminiStatus(tt.wantStatus) || e.Error.Message == "" {
					t.Errorf("error body = %s", body)
				}
				return
			}
			var out gmTestResponse
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			c := out.Candidates[0]
			if c.FinishReason != tt.wantFinish || c.Content.Role != "model" || out.ResponseID == "" {
				t.Errorf("candidate = %s", body)
			}
			if tt.wantCall != "" {
				if fc := c.Content.Parts[0].FunctionCall; fc == nil || fc.Name != tt.wantCall || fc.Args["query"] != "fake" {
					t.Errorf("functionCall = %s", body)
				}
			} else if tx := c.Content.Parts[0].Text; tx == nil || *tx != tt.wantText {
				t.Errorf("text = %s", body)
			}
			u := out.UsageMetadata
			if u.PromptTokenCount == 0 || u.TotalTokenCount != u.PromptTokenCount+u.CandidatesTokenCount {
				t.Errorf("usage = %+v", u)
			}
		})
	}
}

func TestGeminiStream(t *testing.T) {
	s := StartT(t, Options{StreamChunks: 3})
	for _, sse := range []bool{true, false} {
		path := "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
		if sse {
			path += "?alt=sse"
		}
		resp := post(t, s.URL()+path, geminiBody, nil)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var chunks []gmTestResponse
		if sse {
			if resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Errorf("sse content type = %q", resp.Header.Get("Content-Type"))
			}
			for ev := range strings.SplitSeq(strings.TrimSuffix(string(raw), "\r\n\r\n"), "\r\n\r\n") {
				data, ok := strings.CutPrefix(ev, "data: ")
				if !ok {
					t.Fatalf("event %q lacks data:", ev)
				}
				var r gmTestResponse
				if err := json.Unmarshal([]byte(data), &r); err != nil {
					t.Fatal(err)
				}
				chunks = append(chunks, r)
			}
		} else if err := json.Unmarshal(raw, &chunks); err != nil {
			t.Fatalf("array stream: %v\n%s", err, raw)
		}
		if len(chunks) != 3 {
			t.Fatalf("sse=%v: %d chunks", sse, len(chunks))
		}
		var text strings.Builder
		for i, ch := range chunks {
			text.WriteString(*ch.Candidates[0].Content.Parts[0].Text)
			if last := i == len(chunks)-1; (ch.Candidates[0].FinishReason == "STOP") != last {
				t.Errorf("chunk %d finishReason %q", i, ch.Candidates[0].FinishReason)
			}
		}
		if text.String() != "fake response to: hello gemini" || chunks[2].UsageMetadata.CandidatesTokenCount != 5 {
			t.Errorf("sse=%v text %q usage %+v", sse, text.String(), chunks[2].UsageMetadata)
		}
	}
}

func TestGeminiEmbeddingsAndToken(t *testing.T) {
	s := StartT(t, Options{EmbeddingDims: 6})
	tests := []struct {
		name, path, body string
		check            func(map[string]any) bool
	}{
		{"embedContent", "/v1beta/models/text-embedding-004:embedContent", `{"content":{"parts":[{"text":"hi"}]},"outputDimensionality":3}`,
			func(m map[string]any) bool { return len(m["embedding"].(map[string]any)["values"].([]any)) == 3 }},
		{"batchEmbedContents", "/v1beta/models/text-embedding-004:batchEmbedContents", `{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]}},{"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]}}]}`,
			func(m map[string]any) bool {
				e := m["embeddings"].([]any)
				return len(e) == 2 && len(e[1].(map[string]any)["values"].([]any)) == 6
			}},
		{"vertex predict", "/v1/projects/p/locations/l/publishers/google/models/text-embedding-005:predict", `{"instances":[{"content":"one two"}]}`,
			func(m map[string]any) bool {
				p := m["predictions"].([]any)[0].(map[string]any)["embeddings"].(map[string]any)
				return len(p["values"].([]any)) == 6 && p["statistics"].(map[string]any)["token_count"].(float64) == 2
			}},
	}
	token := fetchVertexToken(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, s.URL()+tt.path, tt.body, map[string]string{"Authorization": "Bearer " + token})
			defer resp.Body.Close()
			var m map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 || !tt.check(m) {
				t.Errorf("status %d body %v err %v", resp.StatusCode, m, err)
			}
		})
	}
	for _, form := range []url.Values{
		{"grant_type": {"password"}},
		{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"not-a-jwt"}},
	} {
		resp, err := http.PostForm(s.URL()+"/token", form)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || e.Error == "" {
			t.Errorf("token %v: %d %+v", form, resp.StatusCode, e)
		}
	}
}
