package extproc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"strconv"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
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

// checkFileSize refuses a transcription whose file is over the group's
// max_file_size_mb (its first deployment's, as LiteLLM's
// check_file_size_under_limit reads it) with LiteLLM's 400.
func (st *State) checkFileSize(group string, body []byte, contentType string) *translator.Error {
	ds := st.Router.GroupDeployments(group)
	if len(ds) == 0 || ds[0] == nil || ds[0].Params.MaxFileSizeMB <= 0 {
		return nil
	}
	limit := ds[0].Params.MaxFileSizeMB
	mb := float64(translator.FormFileSize(body, contentType)) / (1024 * 1024)
	if mb <= limit {
		return nil
	}
	return translator.NewError(400, "bad_request", fmt.Sprintf("File size is too large. Please check your file size. Passed file size: %s MB. Max file size: %s MB",
		strconv.FormatFloat(mb, 'f', -1, 64), strconv.FormatFloat(limit, 'f', -1, 64)), "file")
}

// healthPrompt is LiteLLM's DEFAULT_HEALTH_CHECK_PROMPT.
const healthPrompt = "test from litellm"

// routeHealthCheck is the request /health sends a deployment of one of
// these routes' modes, as LiteLLM's health check calls them: speech with
// voice alloy, an image, a rerank of one document, a transcription of a
// short silent WAV file; ok false for the other modes.
func routeHealthCheck(mode, group string) (path string, body []byte, contentType string, ep llmgatev1.Endpoint, ok bool) {
	var m map[string]any
	switch mode {
	case "audio_speech":
		path, ep, m = "/v1/audio/speech", llmgatev1.Endpoint_ENDPOINT_AUDIO_SPEECH, map[string]any{"model": group, "input": healthPrompt, "voice": "alloy"}
	case "image_generation":
		path, ep, m = "/v1/images/generations", llmgatev1.Endpoint_ENDPOINT_IMAGE_GENERATIONS, map[string]any{"model": group, "prompt": healthPrompt}
	case "rerank":
		path, ep, m = "/v1/rerank", llmgatev1.Endpoint_ENDPOINT_RERANK, map[string]any{"model": group, "query": healthPrompt, "documents": []string{"my sample text"}}
	case "audio_transcription":
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		_ = w.WriteField("model", group)
		fw, _ := w.CreateFormFile("file", "health_check.wav")
		_, _ = fw.Write(silentWAV(1600)) // 0.1 s at 8 kHz, 16-bit mono
		_ = w.Close()
		return "/v1/audio/transcriptions", b.Bytes(), w.FormDataContentType(), llmgatev1.Endpoint_ENDPOINT_AUDIO_TRANSCRIPTIONS, true
	default:
		return "", nil, "", 0, false
	}
	body, _ = json.Marshal(m)
	return path, body, "application/json", ep, true
}

// silentWAV is a PCM WAV file of n bytes of silence (8 kHz, 16-bit mono).
func silentWAV(n int) []byte {
	b := make([]byte, 44+n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(n))
	return b
}
