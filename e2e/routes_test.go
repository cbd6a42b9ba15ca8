package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// routesConfig: one group per route after embeddings (D130), OpenAI-compatible
// and Azure deployments, priced as LiteLLM's model_info prices them.
func routesConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: mod
    litellm_params: {model: openai/omni-moderation-latest, api_base: %[1]s/mod/v1, api_key: sk-provider-mod}
    model_info: {mode: moderation}
  - model_name: img
    litellm_params: {model: openai/dall-e-3, api_base: %[1]s/img-a/v1, api_key: sk-provider-img}
    model_info: {mode: image_generation, output_cost_per_image: 0.04}
  - model_name: img
    litellm_params: {model: openai/dall-e-3, api_base: %[1]s/img-b/v1, api_key: sk-provider-img}
    model_info: {mode: image_generation, output_cost_per_image: 0.04}
  - model_name: img-azure
    litellm_params: {model: azure/my-dalle, api_base: %[1]s/az, api_key: az-provider-key, api_version: "2024-10-21"}
    model_info: {mode: image_generation, input_cost_per_pixel: 0.00000001}
  - model_name: tts
    litellm_params: {model: openai/tts-1, api_base: %[1]s/tts/v1, api_key: sk-provider-tts}
    model_info: {mode: audio_speech, input_cost_per_character: 0.000015}
  - model_name: tts-broken
    litellm_params: {model: openai/tts-1, api_base: %[1]s/tts-broken/v1, api_key: sk-provider-tts}
    model_info: {mode: audio_speech, input_cost_per_character: 0.000015}
  - model_name: tts-azure
    litellm_params: {model: azure/my-tts, api_base: %[1]s/az, api_key: az-provider-key, api_version: "2025-03-01-preview"}
    model_info: {mode: audio_speech, input_cost_per_character: 0.00003}
  - model_name: whisper
    litellm_params: {model: openai/whisper-1, api_base: %[1]s/stt/v1, api_key: sk-provider-stt}
    model_info: {mode: audio_transcription, input_cost_per_second: 0.0001}
  - model_name: whisper-azure
    litellm_params: {model: azure/my-whisper, api_base: %[1]s/az, api_key: az-provider-key, api_version: "2024-06-01"}
    model_info: {mode: audio_transcription, input_cost_per_second: 0.0001, output_cost_per_second: 0.0002}
  - model_name: rerank
    litellm_params: {model: cohere/rerank-v3.5, api_base: %[1]s/co, api_key: co-provider-key}
    model_info: {mode: rerank, input_cost_per_query: 0.002}
  - model_name: rerank-vllm
    litellm_params: {model: hosted_vllm/jina-reranker-v2, api_base: %[1]s/vllm/v1, api_key: sk-provider-vllm}
    model_info: {mode: rerank, input_cost_per_token: 0.00001, output_cost_per_token: 0}
router_settings:
  num_retries: 1
  fallbacks: [{"tts-broken": ["tts"]}]
  model_group_alias: {"speech-alias": "tts"}
general_settings:
  master_key: %[2]s
  max_request_size_mb: 1
  proxy_batch_write_at: 1
`, fake, master)
}

// wavFile is a PCM WAV file of secs seconds (8 kHz, 16-bit mono).
func wavFile(secs float64) []byte {
	const rate, bytesPerSample = 8000, 2
	n := int(secs * rate * bytesPerSample)
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(rate * bytesPerSample), uint16(bytesPerSample), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(n))
	b.Write(make([]byte, n))
	return b.Bytes()
}

// noSecretsInAnswer fails when an answer carries an internal header or a
// provider credential.
func noSecretsInAnswer(t *testing.T, h http.Header, body []byte) {
	t.Helper()
	for k, vs := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-llmgate") || lk == "api-key" || lk == "authorization" || strings.HasPrefix(lk, "x-envoy-attempt") {
			t.Errorf("the client got header %s", k)
		}
		for _, v := range vs {
			if strings.Contains(v, "provider-") {
				t.Errorf("the client got a provider key in %s: %s", k, v)
			}
		}
	}
	if bytes.Contains(body, []byte("provider-")) {
		t.Errorf("the client got a provider key in the body: %.300s", body)
	}
}

// costHeader is the answer's x-litellm-response-cost.
func costHeader(t *testing.T, h http.Header) float64 {
	t.Helper()
	var c float64
	if _, err := fmt.Sscan(h.Get("x-litellm-response-cost"), &c); err != nil {
		t.Fatalf("x-litellm-response-cost %q: %v", h.Get("x-litellm-response-cost"), err)
	}
	return c
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9+1e-6*math.Abs(b) }

// TestRoutesOpenAI: moderations, image generations, speech, transcriptions
// and rerank through the real Envoy with the official openai-go client, to
// OpenAI-compatible and Azure deployments (D130).
func TestRoutesOpenAI(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, routesConfig(fake.URL()))
	client := newClient(g, master)
	ctx := context.Background()

	t.Run("moderations", func(t *testing.T) {
		fake.Reset()
		var raw *http.Response
		resp, err := client.Moderations.New(ctx, openai.ModerationNewParams{Model: "mod",
			Input: openai.ModerationNewParamsInputUnion{OfStringArray: []string{"hello", "I will kill the process"}}}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Results) != 2 || resp.Results[0].Flagged || !resp.Results[1].Flagged || !resp.Results[1].Categories.Violence {
			t.Fatalf("moderation answer: %+v", resp)
		}
		rec, _ := fake.Last()
		if rec.Path != "/mod/v1/moderations" || rec.Header.Get("Authorization") != "Bearer sk-provider-mod" || !strings.Contains(string(rec.Body), `"model":"omni-moderation-latest"`) {
			t.Fatalf("provider request: %s %v %s", rec.Path, rec.Header, rec.Body)
		}
		noSecretsInAnswer(t, raw.Header, nil)
	})

	t.Run("images to OpenAI, priced per image", func(t *testing.T) {
		fake.Reset()
		var raw *http.Response
		resp, err := client.Images.Generate(ctx, openai.ImageGenerateParams{Model: "img", Prompt: "a lighthouse", N: openai.Int(2)}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 || !strings.HasPrefix(resp.Data[0].URL, "https://images.fake.test/") {
			t.Fatalf("images answer: %+v", resp)
		}
		if c := costHeader(t, raw.Header); !near(c, 0.08) {
			t.Fatalf("x-litellm-response-cost %v, want 2 × 0.04", c)
		}
		noSecretsInAnswer(t, raw.Header, nil)
	})

	t.Run("images to Azure, priced per pixel", func(t *testing.T) {
		fake.Reset()
		var raw *http.Response
		resp, err := client.Images.Generate(ctx, openai.ImageGenerateParams{Model: "img-azure", Prompt: "a lighthouse", Size: "1024x1792"}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 1 {
			t.Fatalf("images answer: %+v", resp)
		}
		rec, _ := fake.Last()
		if rec.Path != "/az/openai/deployments/my-dalle/images/generations" || rec.Query != "api-version=2024-10-21" || rec.Header.Get("Api-Key") != "az-provider-key" || rec.Header.Get("Authorization") != "" {
			t.Fatalf("provider request: %s?%s %v", rec.Path, rec.Query, rec.Header)
		}
		if c := costHeader(t, raw.Header); !near(c, 1024*1792*0.00000001) {
			t.Fatalf("x-litellm-response-cost %v, want 1024 × 1792 × 1e-8", c)
		}
	})

	t.Run("speech: the audio bytes unchanged, priced per character", func(t *testing.T) {
		for _, tc := range []struct{ model, path, format string }{
			{"tts", "/tts/v1/audio/speech", "mp3"},
			{"speech-alias", "/tts/v1/audio/speech", "wav"},
			{"tts-azure", "/az/openai/deployments/my-tts/audio/speech", "mp3"},
		} {
			fake.Reset()
			input := "Hello there, gateway."
			resp, err := client.Audio.Speech.New(ctx, openai.AudioSpeechNewParams{Model: openai.SpeechModel(tc.model), Input: input,
				Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")}, ResponseFormat: openai.AudioSpeechNewParamsResponseFormat(tc.format)})
			if err != nil {
				t.Fatalf("%s: %v", tc.model, err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if want := fakeprovider.SpeechAudio(input, tc.format, fakeprovider.SpeechAudioSize); !bytes.Equal(got, want) {
				t.Fatalf("%s: %d audio bytes differ from the provider's %d", tc.model, len(got), len(want))
			}
			rec, _ := fake.Last()
			if rec.Path != tc.path {
				t.Fatalf("%s: provider path %s", tc.model, rec.Path)
			}
			price := 0.000015
			if tc.model == "tts-azure" {
				price = 0.00003
				if rec.Query != "api-version=2025-03-01-preview" {
					t.Fatalf("azure query %q", rec.Query)
				}
			}
			if c := costHeader(t, resp.Header); !near(c, 19*price) { // 19 characters besides the spaces
				t.Fatalf("%s: x-litellm-response-cost %v, want 19 × %v", tc.model, c, price)
			}
			noSecretsInAnswer(t, resp.Header, nil)
		}
	})

	t.Run("transcriptions: a multipart form, the model a form field, priced per second", func(t *testing.T) {
		for _, tc := range []struct {
			model, path string
			price       float64
		}{
			{"whisper", "/stt/v1/audio/transcriptions", 0.0001},
			{"whisper-azure", "/az/openai/deployments/my-whisper/audio/transcriptions", 0.0002}, // output_cost_per_second first, as LiteLLM
		} {
			fake.Reset()
			var raw *http.Response
			resp, err := client.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{Model: openai.AudioModel(tc.model),
				File: openai.File(bytes.NewReader(wavFile(2.5)), "hello.wav", "audio/wav")}, option.WithResponseInto(&raw))
			if err != nil {
				t.Fatalf("%s: %v", tc.model, err)
			}
			if !strings.HasPrefix(resp.Text, "fake transcription of hello.wav") {
				t.Fatalf("%s: transcription %+v", tc.model, resp)
			}
			rec, _ := fake.Last()
			if rec.Path != tc.path || !strings.HasPrefix(rec.Header.Get("Content-Type"), "multipart/form-data; boundary=") {
				t.Fatalf("%s: provider request %s %v", tc.model, rec.Path, rec.Header)
			}
			wantModel := "whisper-1"
			if tc.model == "whisper-azure" {
				wantModel = "my-whisper"
			}
			if !bytes.Contains(rec.Body, []byte("name=\"model\"\r\n\r\n"+wantModel+"\r\n")) || bytes.Contains(rec.Body, []byte("\r\n\r\n"+tc.model+"\r\n")) {
				t.Fatalf("%s: the provider's form does not name %s: %.400q", tc.model, wantModel, rec.Body)
			}
			// OpenAI answers usage.seconds 3 (rounded up); Azure's answer is the fake's too, read the same way.
			if c := costHeader(t, raw.Header); !near(c, 3*tc.price) {
				t.Fatalf("%s: x-litellm-response-cost %v, want 3 s × %v", tc.model, c, tc.price)
			}
		}
	})

	t.Run("transcription verbose_json: its duration priced", func(t *testing.T) {
		var raw *http.Response
		resp, err := client.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{Model: "whisper",
			File: openai.File(bytes.NewReader(wavFile(1.25)), "a.wav", "audio/wav"), ResponseFormat: openai.AudioResponseFormatVerboseJSON}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Duration != 1.25 {
			t.Fatalf("duration %v", resp.Duration)
		}
		if c := costHeader(t, raw.Header); !near(c, 1.25*0.0001) {
			t.Fatalf("x-litellm-response-cost %v, want 1.25 s × 0.0001", c)
		}
	})

	t.Run("rerank: Cohere and an OpenAI-compatible host, on /rerank and /v1/rerank", func(t *testing.T) {
		for _, tc := range []struct{ path, model, provPath string }{
			{"/rerank", "rerank", "/co/v2/rerank"},
			{"/v1/rerank", "rerank", "/co/v2/rerank"},
			{"/v2/rerank", "rerank-vllm", "/vllm/v1/rerank"},
		} {
			fake.Reset()
			body := `{"model":"` + tc.model + `","query":"what is envoy","documents":["a proxy called envoy","a cake recipe"],"top_n":1,"return_documents":true}`
			st, h, b := post(t, g.URL+tc.path, master, body)
			if st != 200 {
				t.Fatalf("%s: %d %s", tc.path, st, b)
			}
			var ans struct {
				Results []struct {
					Index          int     `json:"index"`
					RelevanceScore float64 `json:"relevance_score"`
					Document       struct {
						Text string `json:"text"`
					} `json:"document"`
				} `json:"results"`
			}
			if err := json.Unmarshal(b, &ans); err != nil || len(ans.Results) != 1 || ans.Results[0].Index != 0 || ans.Results[0].Document.Text != "a proxy called envoy" {
				t.Fatalf("%s: rerank answer %s", tc.path, b)
			}
			rec, _ := fake.Last()
			if rec.Path != tc.provPath {
				t.Fatalf("%s: provider path %s", tc.path, rec.Path)
			}
			if tc.model == "rerank" {
				if c := costHeader(t, h); !near(c, 0.002) {
					t.Fatalf("x-litellm-response-cost %v, want 1 search unit × 0.002", c)
				}
				if !strings.Contains(string(rec.Body), `"model":"rerank-v3.5"`) {
					t.Fatalf("provider body %s", rec.Body)
				}
			}
			noSecretsInAnswer(t, h, b)
		}
	})

	t.Run("unknown model: 400 in OpenAI's shape", func(t *testing.T) {
		_, err := client.Images.Generate(ctx, openai.ImageGenerateParams{Model: "no-such-model", Prompt: "x"})
		var ae *openai.Error
		if !errors.As(err, &ae) || ae.StatusCode != 400 || !strings.Contains(ae.Message, "no-such-model") {
			t.Fatalf("error %v", err)
		}
		st, _, b := post(t, g.URL+"/v1/audio/speech", master, `{"input":"hi","voice":"alloy"}`)
		if st != 400 || !strings.Contains(string(b), `"error"`) {
			t.Fatalf("no model: %d %s", st, b)
		}
	})

	t.Run("a multipart body over max_request_size_mb: 413 in OpenAI's shape", func(t *testing.T) {
		fake.Reset()
		_, err := client.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{Model: "whisper",
			File: openai.File(bytes.NewReader(wavFile(70)), "big.wav", "audio/wav")}) // 1.1 MB
		var ae *openai.Error
		if !errors.As(err, &ae) || ae.StatusCode != 413 || ae.Message == "" {
			t.Fatalf("error %v", err)
		}
		if n := len(fake.Requests()); n != 0 {
			t.Fatalf("%d requests reached the provider", n)
		}
	})

	noInternalHeaders(t, fake)
}

// TestRoutesRetryFallbackSpend: a 429 retried on the group's other
// deployment, a 500 falling back to another group, a virtual key's spend
// growing by each route's price (D130).
func TestRoutesRetryFallbackSpend(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, routesConfig(fake.URL()))
	k := keyAPI{t, g}
	key, _ := k.generate(`{"key_alias":"routes-key"}`)
	client := newClient(g, key)
	ctx := context.Background()
	want := 0.0

	t.Run("images: 429 on one deployment, retried on the other", func(t *testing.T) {
		fake.Reset()
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/img-a"}, Fault: fakeprovider.Fault{Status: 429}}); err != nil {
			t.Fatal(err)
		}
		defer fake.ClearRules()
		// The plan's order is shuffled: until one request tried img-a
		// first (2^-20 that none of 20 does), each must succeed on img-b.
		tried := func() bool {
			for _, r := range fake.Requests() {
				if r.Path == "/img-a/v1/images/generations" {
					return true
				}
			}
			return false
		}
		for i := 0; i < 20 && !tried(); i++ {
			resp, err := client.Images.Generate(ctx, openai.ImageGenerateParams{Model: "img", Prompt: "a lighthouse"})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Data) != 1 {
				t.Fatalf("answer %+v", resp)
			}
			want += 0.04
		}
		if !tried() {
			t.Fatal("img-a was never tried")
		}
		if last, _ := fake.Last(); last.Path != "/img-b/v1/images/generations" {
			t.Fatalf("the last try went to %s", last.Path)
		}
	})

	t.Run("speech: 500 on a group, its fallback answers", func(t *testing.T) {
		fake.Reset()
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/tts-broken"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
			t.Fatal(err)
		}
		defer fake.ClearRules()
		resp, err := client.Audio.Speech.New(ctx, openai.AudioSpeechNewParams{Model: "tts-broken", Input: "fall back",
			Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")}})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, fakeprovider.SpeechAudio("fall back", "mp3", fakeprovider.SpeechAudioSize)) {
			t.Fatalf("%d audio bytes differ", len(got))
		}
		rec, _ := fake.Last()
		if rec.Path != "/tts/v1/audio/speech" || resp.Header.Get("x-litellm-model-group") != "tts" {
			t.Fatalf("last try %s, group %q", rec.Path, resp.Header.Get("x-litellm-model-group"))
		}
		want += 8 * 0.000015
	})

	t.Run("transcription and rerank with the key", func(t *testing.T) {
		if _, err := client.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{Model: "whisper",
			File: openai.File(bytes.NewReader(wavFile(2)), "k.wav", "audio/wav")}); err != nil {
			t.Fatal(err)
		}
		want += 2 * 0.0001
		st, _, b := post(t, g.URL+"/v1/rerank", key, `{"model":"rerank","query":"q","documents":["a","b"]}`)
		if st != 200 {
			t.Fatalf("rerank %d %s", st, b)
		}
		want += 0.002
		if _, err := client.Moderations.New(ctx, openai.ModerationNewParams{Model: "mod",
			Input: openai.ModerationNewParamsInputUnion{OfString: openai.String("fine")}}); err != nil {
			t.Fatal(err)
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for !near(k.spend(key), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the key's spend is %v, want %v", k.spend(key), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	noInternalHeaders(t, fake)
}

// TestRoutesHealth: /health checks a deployment of mode audio_speech,
// image_generation, rerank or audio_transcription on its own route, as
// LiteLLM's health check calls it (D130).
func TestRoutesHealth(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, routesConfig(fake.URL()))
	st, _, b := do(t, "GET", g.URL+"/health", master, "")
	if st != 200 {
		t.Fatalf("/health: %d %s", st, b)
	}
	var h struct {
		Unhealthy []map[string]any `json:"unhealthy_endpoints"`
	}
	if err := json.Unmarshal(b, &h); err != nil || len(h.Unhealthy) != 0 {
		t.Fatalf("/health: %s", b)
	}
	paths := map[string]bool{}
	for _, r := range fake.Requests() {
		paths[r.Path] = true
	}
	for _, p := range []string{"/tts/v1/audio/speech", "/az/openai/deployments/my-tts/audio/speech", "/img-a/v1/images/generations",
		"/img-b/v1/images/generations", "/az/openai/deployments/my-dalle/images/generations", "/stt/v1/audio/transcriptions",
		"/az/openai/deployments/my-whisper/audio/transcriptions", "/co/v2/rerank", "/vllm/v1/rerank"} {
		if !paths[p] {
			t.Errorf("/health did not call %s (called %v)", p, paths)
		}
	}
	for _, p := range []string{"/tts/v1/chat/completions", "/img-a/v1/chat/completions", "/stt/v1/chat/completions"} {
		if paths[p] {
			t.Errorf("/health sent a chat request to %s", p)
		}
	}
}

// TestRoutesForcedModels: image_generation_model and moderation_model serve
// every such request, whatever the body names, as LiteLLM's proxy (D130).
func TestRoutesForcedModels(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, routesConfig(fake.URL())+"  image_generation_model: img-azure\n  moderation_model: mod\n")
	st, h, b := post(t, g.URL+"/v1/images/generations", master, `{"model":"img","prompt":"x"}`)
	if rec, _ := fake.Last(); st != 200 || h.Get("x-litellm-model-group") != "img-azure" || rec.Path != "/az/openai/deployments/my-dalle/images/generations" {
		t.Fatalf("images: %d %s, group %q, provider path %s", st, b, h.Get("x-litellm-model-group"), rec.Path)
	}
	st, h, b = post(t, g.URL+"/v1/moderations", master, `{"input":"hello"}`)
	if rec, _ := fake.Last(); st != 200 || h.Get("x-litellm-model-group") != "mod" || rec.Path != "/mod/v1/moderations" {
		t.Fatalf("moderations without a model: %d %s, group %q, provider path %s", st, b, h.Get("x-litellm-model-group"), rec.Path)
	}
}
