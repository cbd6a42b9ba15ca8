package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestTranscriptionMaxFileSize (D143): litellm_params.max_file_size_mb on
// the group's first deployment refuses a larger /v1/audio/transcriptions
// file with LiteLLM's 400 (type bad_request, param file) before any
// provider call; a smaller file, and a group without the limit, pass.
// Through Envoy with openai-go.
func TestTranscriptionMaxFileSize(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: whisper
    litellm_params: {model: openai/whisper-1, api_base: %[1]s/stt/v1, api_key: sk-provider-stt, max_file_size_mb: 0.05}
    model_info: {mode: audio_transcription}
  - model_name: whisper
    litellm_params: {model: openai/whisper-1, api_base: %[1]s/stt2/v1, api_key: sk-provider-stt}
    model_info: {mode: audio_transcription}
  - model_name: whisper-free
    litellm_params: {model: openai/whisper-1, api_base: %[1]s/stt/v1, api_key: sk-provider-stt}
    model_info: {mode: audio_transcription}
`, fake.URL()))
	client := newClient(g, master)
	ctx := context.Background()
	send := func(model string, secs float64) error {
		_, err := client.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{Model: openai.AudioModel(model),
			File: openai.File(bytes.NewReader(wavFile(secs)), "a.wav", "audio/wav")})
		return err
	}
	if err := send("whisper", 2.5); err != nil { // 40 KB
		t.Fatalf("a 40 KB file: %v", err)
	}
	fake.Reset()
	err := send("whisper", 5) // 80 KB over 0.05 MB
	var ae *openai.Error
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Type != "bad_request" || ae.Param != "file" ||
		!strings.HasPrefix(ae.Message, "File size is too large. Please check your file size. Passed file size: 0.076") || !strings.HasSuffix(ae.Message, "Max file size: 0.05 MB") {
		t.Fatalf("an 80 KB file: %v", err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("%d requests reached the provider", n)
	}
	if err := send("whisper-free", 5); err != nil {
		t.Fatalf("no limit: %v", err)
	}
}
