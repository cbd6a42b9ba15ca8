package fakeprovider

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The OpenAI routes after embeddings, in OpenAI's (and Azure's) wire
// format: moderations, image generations, speech (a binary answer),
// transcriptions (a multipart/form-data request), and rerank in Cohere's
// v2 format (/v2/rerank) and Jina's (/rerank, OpenAI-compatible hosts).

func handleOpenAIModerations(c *call) {
	var req struct {
		Model string          `json:"model"`
		Input json.RawMessage `json:"input"`
	}
	if !c.openAIRequest(&req, &req.Model) {
		return
	}
	inputs, ok := embeddingInputs(req.Input)
	if !ok {
		c.failOpenAIWith(http.StatusBadRequest, "'input' is a required property", "invalid_request_error", nil)
		return
	}
	if !c.begin() {
		return
	}
	model := req.Model
	if model == "" {
		model = "omni-moderation-latest"
	}
	cats := []string{"harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
		"self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence", "violence/graphic"}
	results := make([]map[string]any, len(inputs))
	for i, in := range inputs {
		flagged := strings.Contains(strings.ToLower(in), "kill")
		c1, s1 := map[string]bool{}, map[string]float64{}
		for _, k := range cats {
			c1[k] = flagged && strings.HasPrefix(k, "violence")
			s1[k] = 0.0001
			if c1[k] {
				s1[k] = 0.97
			}
		}
		results[i] = map[string]any{"flagged": flagged, "categories": c1, "category_scores": s1}
	}
	c.json(http.StatusOK, map[string]any{"id": newID("modr-"), "model": model, "results": results})
}

func handleOpenAIImages(c *call) {
	var req struct {
		Model          string `json:"model"`
		Prompt         string `json:"prompt"`
		N              int    `json:"n"`
		Size           string `json:"size"`
		ResponseFormat string `json:"response_format"`
	}
	if !c.openAIRequest(&req, &req.Model) {
		return
	}
	if req.Prompt == "" {
		c.failOpenAIWith(http.StatusBadRequest, "Missing required parameter: 'prompt'.", "invalid_request_error", "missing_required_parameter")
		return
	}
	if req.N == 0 {
		req.N = 1
	}
	if req.N < 0 || req.N > 10 {
		c.failOpenAIWith(http.StatusBadRequest, "Invalid 'n': integer above maximum value.", "invalid_request_error", "integer_above_max_value")
		return
	}
	if !c.begin() {
		return
	}
	data := make([]map[string]any, req.N)
	for i := range data {
		if req.ResponseFormat == "b64_json" {
			data[i] = map[string]any{"b64_json": base64.StdEncoding.EncodeToString([]byte("fake png " + strconv.Itoa(i) + ": " + req.Prompt))}
		} else {
			data[i] = map[string]any{"url": "https://images.fake.test/" + newID("img-") + ".png", "revised_prompt": req.Prompt}
		}
	}
	c.json(http.StatusOK, map[string]any{"created": time.Now().Unix(), "data": data})
}

// SpeechAudio is the fake's answer to a speech request: bytes that depend
// on the input and the format, size bytes long (no real audio).
func SpeechAudio(input, format string, size int) []byte {
	h := fnv.New64a()
	_, _ = io.WriteString(h, format+"\x00"+input)
	x := h.Sum64()
	out := make([]byte, size)
	copy(out, "ID3\x04")
	for i := 4; i < size; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		out[i] = byte(x)
	}
	return out
}

// SpeechAudioSize is the size of the fake's speech answer: large enough
// to arrive in several chunks.
const SpeechAudioSize = 96 << 10

func handleOpenAISpeech(c *call) {
	var req struct {
		Model          string `json:"model"`
		Input          string `json:"input"`
		Voice          string `json:"voice"`
		ResponseFormat string `json:"response_format"`
	}
	if !c.openAIRequest(&req, &req.Model) {
		return
	}
	if req.Input == "" || req.Voice == "" {
		c.failOpenAIWith(http.StatusBadRequest, "Missing required parameter: 'input' or 'voice'.", "invalid_request_error", "missing_required_parameter")
		return
	}
	if !c.begin() {
		return
	}
	format := req.ResponseFormat
	if format == "" {
		format = "mp3"
	}
	ct := map[string]string{"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm"}[format]
	if ct == "" {
		ct = "application/octet-stream"
	}
	audio := SpeechAudio(req.Input, format, SpeechAudioSize)
	// Sent chunked, as OpenAI streams audio.
	c.head(http.StatusOK, ct)
	for len(audio) > 0 {
		n := min(len(audio), 16<<10)
		_, _ = c.w.Write(audio[:n])
		if f, ok := c.w.(http.Flusher); ok {
			f.Flush()
		}
		audio = audio[n:]
	}
}

// wavSeconds is a WAV file's length from its header (0 when it is not one).
func wavSeconds(f []byte) float64 {
	if len(f) < 44 || string(f[:4]) != "RIFF" || string(f[8:12]) != "WAVE" {
		return 0
	}
	rate := binary.LittleEndian.Uint32(f[28:32])
	if rate == 0 {
		return 0
	}
	return float64(binary.LittleEndian.Uint32(f[40:44])) / float64(rate)
}

func handleOpenAITranscriptions(c *call) {
	form, ok := c.openAIForm()
	if !ok {
		return
	}
	defer func() { _ = form.RemoveAll() }()
	field := func(k string) string { return formValue(form, k) }
	if c.provider == providerOpenAI {
		c.model = field("model")
		if c.model == "" {
			c.failOpenAIWith(http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", nil)
			return
		}
	}
	files := form.File["file"]
	if len(files) == 0 {
		c.failOpenAIWith(http.StatusBadRequest, "Missing required parameter: 'file'.", "invalid_request_error", "missing_required_parameter")
		return
	}
	fh, err := files[0].Open()
	if err != nil {
		c.failOpenAIWith(http.StatusBadRequest, "Could not read the file", "invalid_request_error", nil)
		return
	}
	audio, _ := io.ReadAll(fh)
	_ = fh.Close()
	if !c.begin() {
		return
	}
	secs := wavSeconds(audio)
	text := "fake transcription of " + files[0].Filename + " (" + strconv.Itoa(len(audio)) + " bytes)"
	switch field("response_format") {
	case "text":
		c.raw(http.StatusOK, "text/plain; charset=utf-8", []byte(text+"\n"))
	case "verbose_json":
		c.json(http.StatusOK, map[string]any{"task": "transcribe", "language": "english", "duration": secs, "text": text,
			"segments": []map[string]any{{"id": 0, "start": 0, "end": secs, "text": text}}})
	default:
		c.json(http.StatusOK, map[string]any{"text": text, "usage": map[string]any{"type": "duration", "seconds": int(math.Ceil(secs))}})
	}
}

// rerankRequest is Cohere's (and Jina's) rerank request.
type rerankRequest struct {
	Model           string            `json:"model"`
	Query           string            `json:"query"`
	Documents       []json.RawMessage `json:"documents"`
	TopN            int               `json:"top_n"`
	ReturnDocuments bool              `json:"return_documents"`
}

// rerankResults scores each document by the query words it holds.
func rerankResults(req rerankRequest) []map[string]any {
	words := strings.Fields(strings.ToLower(req.Query))
	type scored struct {
		i     int
		score float64
		text  string
	}
	all := make([]scored, len(req.Documents))
	for i, d := range req.Documents {
		var text string
		if json.Unmarshal(d, &text) != nil {
			var obj struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(d, &obj)
			text = obj.Text
		}
		n := 0
		for _, w := range words {
			if strings.Contains(strings.ToLower(text), w) {
				n++
			}
		}
		all[i] = scored{i, float64(n+1) / float64(len(words)+2), text}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].score > all[b].score })
	if req.TopN > 0 && req.TopN < len(all) {
		all = all[:req.TopN]
	}
	out := make([]map[string]any, len(all))
	for k, s := range all {
		out[k] = map[string]any{"index": s.i, "relevance_score": s.score}
		if req.ReturnDocuments {
			out[k]["document"] = map[string]string{"text": s.text}
		}
	}
	return out
}

func handleCohereRerank(c *call) {
	if !c.bearerAuth() {
		return
	}
	var req rerankRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "invalid request: "+err.Error())
		return
	}
	c.model = req.Model
	if req.Model == "" || req.Query == "" || len(req.Documents) == 0 {
		c.fail(http.StatusBadRequest, "invalid request: model, query and documents are required")
		return
	}
	if !c.begin() {
		return
	}
	c.json(http.StatusOK, map[string]any{"id": newID("rerank-"), "results": rerankResults(req),
		"meta": map[string]any{"api_version": map[string]any{"version": "2"}, "billed_units": map[string]any{"search_units": 1}}})
}

func handleJinaRerank(c *call) {
	var req rerankRequest
	if !c.openAIRequest(&req, &req.Model) {
		return
	}
	if req.Query == "" || len(req.Documents) == 0 {
		c.failOpenAIWith(http.StatusBadRequest, "query and documents are required", "invalid_request_error", nil)
		return
	}
	if !c.begin() {
		return
	}
	tokens := countTokens(req.Query)
	for _, d := range req.Documents {
		tokens += countTokens(string(d))
	}
	c.json(http.StatusOK, map[string]any{"model": req.Model, "usage": map[string]int{"total_tokens": tokens}, "results": rerankResults(req)})
}
