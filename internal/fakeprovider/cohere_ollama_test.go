package fakeprovider

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// sseEvents reads "event:"/"data:" pairs.
func sseEvents(t *testing.T, r io.Reader) (names []string, data []map[string]any) {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if ev, ok := strings.CutPrefix(line, "event: "); ok {
			names = append(names, ev)
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			var m map[string]any
			if err := json.Unmarshal([]byte(d), &m); err != nil {
				t.Fatalf("data %q: %v", d, err)
			}
			data = append(data, m)
		}
	}
	return names, data
}

func TestCohereChat(t *testing.T) {
	s := StartT(t, Options{APIKeys: []string{"co-key"}, StreamChunks: 2})
	auth := map[string]string{"Authorization": "Bearer co-key"}
	const text = `{"model":"command-r","messages":[{"role":"user","content":"hello cohere"}]}`
	const tool = `{"model":"command-r","messages":[{"role":"user","content":"call tool"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{}}}]}`

	resp := post(t, s.URL()+"/v2/chat", text, auth)
	var out struct {
		ID           string `json:"id"`
		FinishReason string `json:"finish_reason"`
		Message      struct {
			Role      string `json:"role"`
			Content   []struct{ Type, Text string }
			ToolCalls []struct {
				ID       string `json:"id"`
				Function struct{ Name, Arguments string }
			} `json:"tool_calls"`
		} `json:"message"`
		Usage coUsage `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if out.FinishReason != "COMPLETE" || out.Message.Content[0].Text != "fake response to: hello cohere" || out.Usage.Tokens.InputTokens != 2 || out.Usage.BilledUnits.OutputTokens != 5 || out.ID == "" {
		t.Errorf("chat = %+v", out)
	}

	resp = post(t, s.URL()+"/v2/chat", tool, auth)
	out.Message.Content = nil
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if out.FinishReason != "TOOL_CALL" || len(out.Message.ToolCalls) != 1 || out.Message.ToolCalls[0].Function.Name != "get_weather" || out.Message.ToolCalls[0].Function.Arguments != `{"query":"fake"}` {
		t.Errorf("tool chat = %+v", out)
	}

	tests := []struct {
		name, body, wantEvents, wantText, wantArgs, wantFinish string
	}{
		{"text stream", strings.Replace(text, `{"model"`, `{"stream":true,"model"`, 1), "message-start content-start content-delta content-delta content-end message-end", "fake response to: hello cohere", "", "COMPLETE"},
		{"tool stream", strings.Replace(tool, `{"model"`, `{"stream":true,"model"`, 1), "message-start tool-plan-delta tool-call-start tool-call-delta tool-call-delta tool-call-end message-end", "", `{"query":"fake"}`, "TOOL_CALL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, s.URL()+"/v2/chat", tt.body, auth)
			defer resp.Body.Close()
			names, data := sseEvents(t, resp.Body)
			if got := strings.Join(names, " "); got != tt.wantEvents {
				t.Fatalf("events = %s", got)
			}
			var text, args strings.Builder
			finish := ""
			for i, d := range data {
				if d["type"] != names[i] {
					t.Errorf("event %s has type %v", names[i], d["type"])
				}
				delta, _ := d["delta"].(map[string]any)
				msg, _ := delta["message"].(map[string]any)
				switch names[i] {
				case "content-delta":
					text.WriteString(msg["content"].(map[string]any)["text"].(string))
				case "tool-call-delta":
					args.WriteString(msg["tool_calls"].(map[string]any)["function"].(map[string]any)["arguments"].(string))
				case "message-end":
					finish, _ = delta["finish_reason"].(string)
				}
			}
			if text.String() != tt.wantText || args.String() != tt.wantArgs || finish != tt.wantFinish {
				t.Errorf("text %q args %q finish %q", text.String(), args.String(), finish)
			}
		})
	}

	resp = post(t, s.URL()+"/v2/chat", text, map[string]string{"Authorization": "Bearer wrong"})
	var e struct{ Message string }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 401 || e.Message == "" {
		t.Errorf("bad key: %d %+v", resp.StatusCode, e)
	}

	resp = post(t, s.URL()+"/v2/embed", `{"model":"embed-english-v3.0","texts":["a","b"],"input_type":"search_query","embedding_types":["float"]}`, auth)
	var emb struct {
		Embeddings   struct{ Float [][]float64 } `json:"embeddings"`
		ResponseType string                      `json:"response_type"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&emb)
	resp.Body.Close()
	if len(emb.Embeddings.Float) != 2 || len(emb.Embeddings.Float[0]) != 8 || emb.ResponseType != "embeddings_by_type" {
		t.Errorf("embed = %+v", emb)
	}
}

func TestOllama(t *testing.T) {
	s := StartT(t, Options{StreamChunks: 3})
	tests := []struct {
		name, path, body string
		wantLines        int // 0: one JSON object
		wantText         string
		wantTool         string
	}{
		{"chat stream", "/api/chat", `{"model":"llama3","messages":[{"role":"user","content":"hello ollama"}]}`, 4, "fake response to: hello ollama", ""},
		{"chat no stream", "/api/chat", `{"model":"llama3","stream":false,"messages":[{"role":"user","content":"hello ollama"}]}`, 0, "fake response to: hello ollama", ""},
		{"chat tool", "/api/chat", `{"model":"llama3","stream":false,"messages":[{"role":"user","content":"call tool"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}`, 0, "", "get_weather"},
		{"generate stream", "/api/generate", `{"model":"llama3","prompt":"hello ollama"}`, 4, "fake response to: hello ollama", ""},
		{"generate no stream", "/api/generate", `{"model":"llama3","prompt":"hello ollama","stream":false}`, 0, "fake response to: hello ollama", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, s.URL()+tt.path, tt.body, nil)
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
			if tt.wantLines > 0 && (len(lines) != tt.wantLines || resp.Header.Get("Content-Type") != "application/x-ndjson") {
				t.Fatalf("lines %d type %q:\n%s", len(lines), resp.Header.Get("Content-Type"), raw)
			}
			if tt.wantLines == 0 && len(lines) != 1 {
				t.Fatalf("want one object:\n%s", raw)
			}
			var text strings.Builder
			var last map[string]any
			for i, l := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatal(err)
				}
				if m["done"] != (i == len(lines)-1) || m["model"] != "llama3" || m["created_at"] == "" {
					t.Errorf("line %d = %s", i, l)
				}
				if msg, ok := m["message"].(map[string]any); ok {
					text.WriteString(msg["content"].(string))
					if calls, ok := msg["tool_calls"].([]any); ok {
						fn := calls[0].(map[string]any)["function"].(map[string]any)
						if fn["name"] != tt.wantTool || fn["arguments"].(map[string]any)["query"] != "fake" {
							t.Errorf("tool call = %v", fn)
						}
					}
				} else {
					text.WriteString(m["response"].(string))
				}
				last = m
			}
			if text.String() != tt.wantText {
				t.Errorf("text = %q", text.String())
			}
			if last["done_reason"] != "stop" || last["prompt_eval_count"].(float64) < 1 || last["eval_count"].(float64) < 1 {
				t.Errorf("final = %v", last)
			}
		})
	}
	resp := post(t, s.URL()+"/api/embed", `{"model":"nomic-embed-text","input":["a","b"]}`, nil)
	var emb struct{ Embeddings [][]float64 }
	_ = json.NewDecoder(resp.Body).Decode(&emb)
	resp.Body.Close()
	if len(emb.Embeddings) != 2 || len(emb.Embeddings[1]) != 8 {
		t.Errorf("embed = %+v", emb)
	}
	resp = post(t, s.URL()+"/api/chat", `{"model":"llama3","messages":[{"role":"user","content":"x"}]}`, map[string]string{"x-fake-status": "404"})
	var e struct{ Error string }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(e.Error, "llama3") {
		t.Errorf("404 = %d %+v", resp.StatusCode, e)
	}
}
