package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// streamReply is TestGuardrailsStream's answer: 100 bytes, streamed in ten
// 10-byte pieces after a role chunk, "secret-answer" at bytes 60–73.
var streamReply = func() string {
	s := strings.Repeat("fine words ", 6)[:60] + "secret-answer"
	return s + strings.Repeat(" tail", 6)[:100-len(s)]
}()

// TestGuardrailsStream (D149): post_call guardrails read a streamed chat
// answer as LiteLLM's unified guardrail does — every streaming_sampling_rate
// chunks (default 5) and at the end — through the real Envoy with
// openai-go. A block mid-way: what reached the client stays, then LiteLLM's
// in-stream error frame and [DONE].
func TestGuardrailsStream(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{Reply: streamReply})
	okReply := strings.ReplaceAll(streamReply, "secret-answer", "public-answer")
	fakeOK := fakeprovider.StartT(t, fakeprovider.Options{Reply: okReply})
	fg := startFakeGuardrails(t)
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt, api_base: %[1]s/v1, api_key: k}
  - model_name: gpt-ok
    litellm_params: {model: openai/gpt, api_base: %[4]s/v1, api_key: k}
general_settings:
  master_key: %[3]s
guardrails:
  - guardrail_name: words-pre
    litellm_params: {guardrail: generic_guardrail_api, mode: pre_call, api_base: %[2]s, default_on: true}
  - guardrail_name: words-post
    litellm_params: {guardrail: generic_guardrail_api, mode: post_call, api_base: %[2]s}
  - guardrail_name: words-every
    litellm_params: {guardrail: generic_guardrail_api, mode: post_call, api_base: %[2]s, streaming_sampling_rate: 1}
  - guardrail_name: words-end
    litellm_params: {guardrail: generic_guardrail_api, mode: post_call, api_base: %[2]s, streaming_end_of_stream_only: true}
`, fake.URL(), fg.generic.URL, master, fakeOK.URL()))
	client := newClient(g, master)
	ctx := context.Background()
	const errFrame = `data: {"error": {"message": "no forbidden words", "type": "invalid_request_error", "param": null, "code": "400"}}` + "\n\ndata: [DONE]\n\n"

	// stream reads a streamed answer with openai-go: its text and error.
	stream := func(t *testing.T, model, guard string) (string, *http.Response, error) {
		t.Helper()
		var raw *http.Response
		s := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:    model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
		}, option.WithJSONSet("guardrails", []string{guard}), option.WithResponseInto(&raw))
		defer s.Close()
		var b strings.Builder
		for s.Next() {
			for _, c := range s.Current().Choices {
				b.WriteString(c.Delta.Content)
			}
		}
		return b.String(), raw, s.Err()
	}
	wantBlocked := func(t *testing.T, err error) {
		t.Helper()
		var se *ssestream.StreamError
		if !errors.As(err, &se) || !strings.Contains(se.Message, `"message":"no forbidden words"`) && !strings.Contains(se.Message, `"message": "no forbidden words"`) {
			t.Fatalf("stream error %v, want the guardrail's in-stream error", err)
		}
	}

	t.Run("sampled every 5 chunks: blocked at the 10th", func(t *testing.T) {
		fg.reset()
		text, raw, err := stream(t, "gpt", "words-post")
		wantBlocked(t, err)
		// Chunk 5 read bytes 0–40 (passed); chunk 10 read 0–90 and blocked
		// before it was sent: the client got the pieces of chunks 2–9.
		if text != streamReply[:80] {
			t.Errorf("the client got %q, want %q", text, streamReply[:80])
		}
		if got := fg.inputTypes(); strings.Join(got, ",") != "request,response,response" {
			t.Errorf("guardrail calls %v, want request,response,response", got)
		}
		if raw.StatusCode != 200 {
			t.Errorf("status %d, want 200 (the stream had started)", raw.StatusCode)
		}
		if h := raw.Header.Get("x-litellm-applied-guardrails"); h != "words-pre" {
			t.Errorf("x-litellm-applied-guardrails %q, want words-pre", h)
		}
	})

	t.Run("streaming_sampling_rate 1: blocked at the first chunk that completes the word", func(t *testing.T) {
		text, _, err := stream(t, "gpt", "words-every")
		wantBlocked(t, err)
		if text != streamReply[:70] {
			t.Errorf("the client got %q, want %q", text, streamReply[:70])
		}
	})

	t.Run("end of stream only: the whole answer, then the error", func(t *testing.T) {
		fg.reset()
		text, _, err := stream(t, "gpt", "words-end")
		wantBlocked(t, err)
		if text != streamReply {
			t.Errorf("the client got %q, want the whole answer", text)
		}
		if got := fg.inputTypes(); strings.Join(got, ",") != "request,response" {
			t.Errorf("guardrail calls %v, want request,response", got)
		}
	})

	t.Run("the exact frames", func(t *testing.T) {
		code, _, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"gpt","stream":true,"guardrails":["words-post"],"messages":[{"role":"user","content":"hi"}]}`)
		if code != 200 || !strings.HasSuffix(string(b), "\n\n"+errFrame) {
			t.Fatalf("answer %d %s, want it to end with %q", code, b, errFrame)
		}
		if n := strings.Count(string(b), "data: "); n != 9+2 {
			t.Errorf("%d events, want 9 chunks then the error and [DONE]:\n%s", n, b)
		}
	})

	t.Run("an answer that passes streams whole", func(t *testing.T) {
		fg.reset()
		text, _, err := stream(t, "gpt-ok", "words-post")
		if err != nil || text != okReply {
			t.Fatalf("the client got %q %v, want the whole answer", text, err)
		}
		// Chunk 5 (bytes 0–40), chunk 10 (0–90), and the end (0–100).
		if got := fg.inputTypes(); strings.Join(got, ",") != "request,response,response,response" {
			t.Errorf("guardrail calls %v, want request then three response rounds", got)
		}
		fg.reset()
		// Not named: no post_call guardrail reads it.
		text, _, err = stream(t, "gpt", "none")
		if err != nil || text != streamReply {
			t.Fatalf("unnamed: %q %v", text, err)
		}
		if got := fg.inputTypes(); strings.Join(got, ",") != "request" {
			t.Errorf("guardrail calls %v, want only the pre_call one", got)
		}
	})
}
