package extproc

import (
	"github.com/llmgate/llmgate/translator"
)

// The routes after embeddings (D130): /v1/moderations,
// /v1/images/generations, /v1/audio/speech, /v1/audio/transcriptions
// (multipart/form-data) and /v1/rerank. The module hands them to ext_proc
// (module.go handOn); they are planned as chat is (groups, aliases, keys,
// retries, fallbacks, cooldowns), never fast, never prepared: each try's
// attempt filter writes the body and reads the price from the answer.

// mergeUnits is an answer's units with what its request fixed: the pixels
// of each generated image, a speech input's characters, the audio length
// of a WAV file when the answer says neither its length nor its tokens.
func mergeUnits(u translator.Usage, req translator.Units) translator.Units {
	ans := u.Units
	if ans.Images > 0 {
		ans.Pixels = req.Pixels * int64(ans.Images)
	}
	ans.Characters += req.Characters
	if ans.AudioSeconds == 0 && u.PromptTokens == 0 && u.CompletionTokens == 0 {
		ans.AudioSeconds = req.AudioSeconds
	}
	return ans
}

// routeFields reads the request fields of a route whose body is not JSON:
// a transcription's form (its model field; a streamed transcription's
// events pass to the client unread, attempt.go).
func routeFields(rt route, h map[string]string, body []byte, f *requestFields) *translator.Error {
	v, err := translator.FormFields(body, h["content-type"], "model")
	if err != nil {
		return translator.NewError(400, "invalid_request_error", "Invalid multipart/form-data request body: "+err.Error(), "")
	}
	f.Model = v["model"]
	return nil
}
