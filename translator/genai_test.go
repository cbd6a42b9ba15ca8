package translator

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestGenAIBridge: a generateContent request as LiteLLM's GoogleGenAIAdapter
// makes it a chat completion, and the chat answer and stream made Google's
// (D160).
func TestGenAIBridge(t *testing.T) {
	chat, e := GenAIToChat([]byte(`{"contents":[{"role":"user","parts":[{"text":"hi"},{"inlineData":{"mimeType":"image/png","data":"AAA"}}]},
		{"role":"model","parts":[{"functionCall":{"name":"f","args":{"a":1}}}]},
		{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"ok":true}}}]}],
		"systemInstruction":{"parts":[{"text":"sys"}]},"generationConfig":{"stopSequences":["x"],"topK":3},
		"toolConfig":{"functionCallingConfig":{"mode":"NONE"}}}`))
	if e != nil {
		t.Fatal(e)
	}
	for _, want := range []string{`{"content":"sys","role":"system"}`, `"image_url":{"format":"image/png","url":"data:image/png;base64,AAA"}`,
		`"tool_calls":[{"function":{"arguments":"{\"a\":1}","name":"f"},"id":"call_f","type":"function"}]`,
		`{"content":"{\"ok\":true}","role":"tool","tool_call_id":"call_f"}`, `"stop":["x"]`, `"tool_choice":"none"`} {
		if !strings.Contains(string(chat), want) {
			t.Errorf("chat request lacks %s: %s", want, chat)
		}
	}
	if strings.Contains(string(chat), "topK") || strings.Contains(string(chat), "top_k") {
		t.Errorf("topK reached the chat request: %s", chat)
	}
	out, e := ChatToGenAI([]byte(`{"id":"c","choices":[{"message":{"role":"assistant","content":"yo","tool_calls":[{"id":"1","type":"function","function":{"name":"g","arguments":"{\"b\":2}"}}]},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`), Target{})
	if e != nil {
		t.Fatal(e)
	}
	if want := `{"candidates":[{"content":{"parts":[{"text":"yo"},{"functionCall":{"args":{"b":2},"name":"g"}}],"role":"model"},"finishReason":"MAX_TOKENS","index":0,"safetyRatings":[]}],"usageMetadata":{"candidatesTokenCount":4,"promptTokenCount":3,"totalTokenCount":7}}`; string(out) != want {
		t.Fatalf("answer %s", out)
	}

	s := genaiAdapter(For("openai")).NewStream(GenerateContent, Target{Model: "m"})
	var got []byte
	for _, c := range []string{
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"he"}}]}`,
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","type":"function","function":{"name":"g","arguments":"{\"b\""}}]}}]}`,
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":2}"}}]}}]}`,
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`,
	} {
		b, err := s.Feed([]byte("data: "+c+"\n\n"), false)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
	}
	b, _ := s.Feed([]byte("data: [DONE]\n\n"), true)
	got = append(got, b...)
	var evs []string
	for _, l := range strings.Split(string(got), "\n") {
		if d, ok := strings.CutPrefix(l, "data: "); ok {
			evs = append(evs, d)
		}
	}
	want := []string{
		`{"candidates":[{"content":{"parts":[{"text":"he"}],"role":"model"},"finishReason":null,"index":0,"safetyRatings":[]}]}`,
		`{"candidates":[{"content":{"parts":[{"functionCall":{"args":{"b":2},"name":"g"}}],"role":"model"},"finishReason":null,"index":0,"safetyRatings":[]}]}`,
		`{"candidates":[{"content":{"parts":[],"role":"model"},"finishReason":"STOP","index":0,"safetyRatings":[]}],"usageMetadata":{"candidatesTokenCount":4,"promptTokenCount":3,"totalTokenCount":7}}`,
	}
	if len(evs) != len(want) {
		t.Fatalf("events %q", evs)
	}
	for i := range want {
		var a, b any
		_ = json.Unmarshal([]byte(evs[i]), &a)
		_ = json.Unmarshal([]byte(want[i]), &b)
		ab, _ := json.Marshal(a)
		bb, _ := json.Marshal(b)
		if string(ab) != string(bb) {
			t.Errorf("event %d: %s, want %s", i, evs[i], want[i])
		}
	}
	if u := s.Usage(); u.TotalTokens != 7 {
		t.Errorf("usage %+v", u)
	}
}
