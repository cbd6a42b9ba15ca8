package extproc

import (
	"testing"

	"github.com/llmgate/llmgate/translator"
)

func TestClassifyRoutes(t *testing.T) {
	for path, want := range map[string]route{
		"/v1/moderations":          {kind: routeLLM, endpoint: translator.Moderations},
		"/moderations":             {kind: routeLLM, endpoint: translator.Moderations},
		"/v1/images/generations":   {kind: routeLLM, endpoint: translator.ImageGenerations},
		"/images/generations":      {kind: routeLLM, endpoint: translator.ImageGenerations},
		"/v1/audio/speech":         {kind: routeLLM, endpoint: translator.AudioSpeech},
		"/audio/transcriptions":    {kind: routeLLM, endpoint: translator.AudioTranscriptions},
		"/v1/audio/transcriptions": {kind: routeLLM, endpoint: translator.AudioTranscriptions},
		"/rerank":                  {kind: routeLLM, endpoint: translator.Rerank},
		"/v1/rerank":               {kind: routeLLM, endpoint: translator.Rerank},
		"/v2/rerank":               {kind: routeLLM, endpoint: translator.Rerank},
		"/openai/deployments/my-tts/audio/speech?api-version=2025-03-01-preview": {kind: routeLLM, endpoint: translator.AudioSpeech, pathModel: "my-tts"},
		"/v1/audio/translations": {},
		// OpenAI's Responses API (D137).
		"/v1/responses":                      {kind: routeLLM, endpoint: translator.Responses},
		"/responses":                         {kind: routeLLM, endpoint: translator.Responses},
		"/openai/v1/responses":               {kind: routeLLM, endpoint: translator.Responses},
		"/v1/responses/resp_x":               {kind: routeLLM, endpoint: translator.Responses, responseID: "resp_x"},
		"/responses/resp_x/input_items?a=1":  {kind: routeLLM, endpoint: translator.Responses, responseID: "resp_x"},
		"/openai/v1/responses/resp_x/cancel": {kind: routeLLM, endpoint: translator.Responses, responseID: "resp_x"},
		"/v1/responses/x/other":              {},
		// Image edits (D160).
		"/v1/images/edits": {kind: routeLLM, endpoint: translator.ImageEdits},
		"/images/edits":    {kind: routeLLM, endpoint: translator.ImageEdits},
		"/openai/deployments/my-edit/images/edits": {kind: routeLLM, endpoint: translator.ImageEdits, pathModel: "my-edit"},
		// Google's generateContent (D160).
		"/v1beta/models/gem:generateContent":               {kind: routeLLM, endpoint: translator.GenerateContent, pathModel: "gem"},
		"/models/gemini%2Fx:streamGenerateContent?alt=sse": {kind: routeLLM, endpoint: translator.GenerateContent, pathModel: "gemini/x", stream: true},
		"/v1beta/models/llama3:8b:generateContent":         {kind: routeLLM, endpoint: translator.GenerateContent, pathModel: "llama3:8b"},
		"/v1beta/models/gem:countTokens":                   {},
		"/models/gem":                                      {kind: routeModel, pathModel: "gem"},
		// LiteLLM's Bedrock pass-through for a group (D160).
		"/bedrock/model/claude-brk/converse":               {kind: routeLLM, endpoint: translator.BedrockPassThrough, pathModel: "claude-brk", action: "converse"},
		"/bedrock/model/a%3A1/invoke-with-response-stream": {kind: routeLLM, endpoint: translator.BedrockPassThrough, pathModel: "a:1", action: "invoke-with-response-stream", stream: true},
		"/bedrock/model/x/count-tokens":                    {},
	} {
		if got := classify("POST", path); got != want {
			t.Errorf("%s: %+v, want %+v", path, got, want)
		}
	}
	for e := translator.Chat; e <= translator.BedrockPassThrough; e++ {
		if got := endpointFromProto(endpointProto(e)); got != e {
			t.Errorf("%v: back from the context as %v", e, got)
		}
	}
}

func TestRouteFields(t *testing.T) {
	var f requestFields
	if e := routeFields(route{}, map[string]string{"content-type": "application/json"}, []byte(`{"model":"x"}`), &f); e == nil || e.Status != 400 {
		t.Fatalf("a JSON body on the transcription route: %v", e)
	}
}
