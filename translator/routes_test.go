package translator

import (
	"bytes"
	"encoding/binary"
	"mime/multipart"
	"strings"
	"testing"
)

func testForm(t *testing.T, fields [][2]string, file []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := w.CreateFormFile("file", "a.wav")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(file)
	_ = w.Close()
	return b.Bytes(), w.FormDataContentType()
}

func testWAV(dataBytes int, byteRate uint32) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+dataBytes))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), byteRate / 2, byteRate, uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(dataBytes))
	b.Write(make([]byte, dataBytes))
	return b.Bytes()
}

func TestTranscriptionForm(t *testing.T) {
	body, ct := testForm(t, [][2]string{{"model", "whisper"}, {"metadata", `{"a":1}`}, {"language", "en"}}, testWAV(32000, 16000))
	v, err := FormFields(body, ct, "model")
	if err != nil || v["model"] != "whisper" {
		t.Fatalf("FormFields: %v %v", v, err)
	}
	up, err := openAI{azure: true}.Request(AudioTranscriptions, body, Target{Model: "my-whisper", APIBase: "https://x.openai.azure.com", APIVersion: "2024-06-01", ContentType: ct})
	if err != nil {
		t.Fatal(err)
	}
	if up.Path != "/openai/deployments/my-whisper/audio/transcriptions?api-version=2024-06-01" || up.Headers["content-type"] != ct {
		t.Fatalf("request %s %v", up.Path, up.Headers)
	}
	got, err := FormFields(up.Body, ct, "model", "metadata", "language")
	if err != nil || got["model"] != "my-whisper" || got["language"] != "en" || got["metadata"] != "" {
		t.Fatalf("the provider's form: %v %v", got, err)
	}
	if u := RequestUnits(AudioTranscriptions, up.Body, ct); u.AudioSeconds != 2 {
		t.Fatalf("the file's seconds: %v", u.AudioSeconds)
	}
	if _, err := (openAI{}).Request(AudioTranscriptions, body, Target{Model: "m", ContentType: "application/json"}); err == nil {
		t.Fatal("a JSON content type was taken as a form")
	}
}

func TestWAVSeconds(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    []byte
		want float64
	}{
		{"one second", testWAV(16000, 16000), 1},
		{"truncated data", testWAV(16000, 16000)[:44+8000], 0.5},
		{"not a wav", []byte("ID3\x04 not a wav file at all"), 0},
		{"zero byte rate", testWAV(100, 0), 0},
		{"empty", nil, 0},
	} {
		if got := WAVSeconds(tc.f); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRouteUnits(t *testing.T) {
	if u := RequestUnits(AudioSpeech, []byte(`{"input":"Hello there,\n gateway."}`), ""); u.Characters != 19 {
		t.Errorf("speech characters %d, want 19 (whitespace not counted)", u.Characters)
	}
	if u := RequestUnits(ImageGenerations, []byte(`{"prompt":"x","size":"1024x1792"}`), ""); u.Pixels != 1024*1792 {
		t.Errorf("pixels %d", u.Pixels)
	}
	if u := RequestUnits(ImageGenerations, []byte(`{"prompt":"x"}`), ""); u.Pixels != 1024*1024 {
		t.Errorf("default pixels %d", u.Pixels)
	}
	for _, tc := range []struct {
		ep   Endpoint
		body string
		want Usage
	}{
		{ImageGenerations, `{"data":[{"url":"a"},{"url":"b"}]}`, Usage{Units: Units{Images: 2}}},
		{ImageGenerations, `{"data":[{"b64_json":"a"}],"usage":{"input_tokens":10,"output_tokens":100}}`, Usage{PromptTokens: 10, CompletionTokens: 100, TotalTokens: 110, Units: Units{Images: 1}}},
		{AudioTranscriptions, `{"text":"x","usage":{"type":"duration","seconds":3}}`, Usage{Units: Units{AudioSeconds: 3}}},
		{AudioTranscriptions, `{"text":"x","duration":1.5}`, Usage{Units: Units{AudioSeconds: 1.5}}},
		{AudioTranscriptions, `{"text":"x","usage":{"type":"tokens","input_tokens":7,"output_tokens":3}}`, Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10}},
		{Rerank, `{"results":[],"meta":{"billed_units":{"search_units":2}}}`, Usage{Units: Units{SearchUnits: 2}}},
		{Rerank, `{"results":[],"usage":{"total_tokens":40}}`, Usage{PromptTokens: 40, TotalTokens: 40, Units: Units{SearchUnits: 1}}},
		{Moderations, `{"results":[]}`, Usage{}},
	} {
		if got := routeUsage(tc.ep, []byte(tc.body)); got != tc.want {
			t.Errorf("%v %s: %+v, want %+v", tc.ep, tc.body, got, tc.want)
		}
	}
}

func TestRoutePaths(t *testing.T) {
	for ep, want := range map[Endpoint]string{
		Moderations: "/v1/moderations", ImageGenerations: "/v1/images/generations", AudioSpeech: "/v1/audio/speech",
		AudioTranscriptions: "/v1/audio/transcriptions", Rerank: "/v1/rerank",
	} {
		if got := PassThroughPath(ep, Target{Provider: "openai", APIBase: "https://api.openai.com/v1"}); got != want {
			t.Errorf("%v: %s", ep, got)
		}
	}
	up, err := cohereTranslator{}.Request(Rerank, []byte(`{"model":"rerank","query":"q","documents":["a"],"metadata":{"x":1}}`), Target{Model: "rerank-v3.5", APIBase: "https://api.cohere.com"})
	if err != nil || up.Path != "/v2/rerank" || !strings.Contains(string(up.Body), `"model":"rerank-v3.5"`) || strings.Contains(string(up.Body), "metadata") {
		t.Fatalf("cohere rerank: %+v %v", up, err)
	}
	if _, err := (anthropicTranslator{}).Request(Rerank, []byte(`{}`), Target{}); err == nil {
		t.Fatal("anthropic took a rerank request")
	}
}
