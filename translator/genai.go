package translator

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmgate/llmgate/internal/provider"
)

// Google's native generateContent API in (POST /v1beta/models/{model}:
// generateContent and :streamGenerateContent, D160), as LiteLLM's
// google_genai routes serve it:
//   - a Gemini or Vertex AI deployment gets the client's body natively
//     (without model and LiteLLM's own fields) at its
//     models/{model}:generateContent (:streamGenerateContent?alt=sse);
//     the answer and its events come back as they are, their usageMetadata
//     read for spend;
//   - every other provider gets a chat completion (LiteLLM's
//     GoogleGenAIAdapter: systemInstruction → a system message, contents →
//     messages, functionCall / functionResponse parts → tool_calls / tool
//     messages, inline and file data → image_url or file parts,
//     functionDeclarations → function tools, toolConfig's mode →
//     tool_choice, generationConfig's temperature, maxOutputTokens, topP,
//     stopSequences), which that provider's translator carries; the chat
//     answer comes back as a GenerateContentResponse (candidates[0] with
//     the text and functionCall parts, finishReason, usageMetadata) and a
//     chat stream as its SSE chunks (no [DONE]).

// ForGenerateContent is the translator of the generateContent endpoint for
// a provider, nil for a provider llmgate does not serve.
func ForGenerateContent(name string) Translator {
	p, ok := provider.Lookup(name)
	if !ok {
		return nil
	}
	switch p.Wire {
	case provider.WireGemini:
		return genaiNative{geminiTranslator{}}
	case provider.WireVertex:
		return genaiNative{geminiTranslator{vertex: true}}
	}
	inner := For(name)
	if inner == nil {
		return nil
	}
	return genaiAdapter(inner)
}

// genaiAdapter is generateContent through a provider's chat translator.
func genaiAdapter(inner Translator) Translator {
	return genaiBridge{chatBridge{inner: inner, toChat: GenAIToChat, fromChat: ChatToGenAI,
		stream: func(in Stream, t Target) Stream {
			s := &genaiStream{bridgeStream: bridgeStream{inner: in}, calls: map[int]*genaiCall{}}
			s.ev = s
			return s
		}}}
}

// genaiNative sends the body to a Gemini or Vertex AI deployment as it is.
type genaiNative struct{ g geminiTranslator }

func (n genaiNative) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	if !gjson.ValidBytes(body) || !isObject(body) {
		return nil, NewError(400, "invalid_request_error", "request body is not a valid JSON object", "")
	}
	out := append([]byte(nil), body...)
	var drop []string
	gjson.ParseBytes(out).ForEach(func(k, _ gjson.Result) bool {
		if name := k.String(); name == "model" || name == "stream" || IsLiteLLMOnly(name) || contains(t.AdditionalDropParams, name) {
			drop = append(drop, name)
		}
		return true
	})
	for _, f := range drop {
		var err error
		if out, err = sjson.DeleteBytes(out, gjsonKey(f)); err != nil {
			return nil, err
		}
	}
	mp, err := n.g.modelPath(t)
	if err != nil {
		return nil, err
	}
	path := mp + ":generateContent"
	if t.Stream {
		path = mp + ":streamGenerateContent?alt=sse"
	}
	return &UpstreamRequest{Method: "POST", Path: path, Headers: jsonHeaders(t.Stream), Body: out}, nil
}

func (n genaiNative) Response(ep Endpoint, body []byte, t Target) (*Response, error) {
	var gr geminiResponse
	if err := json.Unmarshal(body, &gr); err != nil {
		return nil, NewError(502, "internal_server_error", "llmgate: the provider returned an invalid response: "+err.Error(), "")
	}
	r := &Response{Body: body, Usage: geminiUsageFrom(gr.UsageMetadata)}
	if len(gr.Candidates) > 0 {
		r.FinishReason = geminiFinish(gr.Candidates[0].FinishReason, false)
	}
	return r, nil
}

func (n genaiNative) Error(status int, headers map[string]string, body []byte) *Error {
	return n.g.Error(status, headers, body)
}

func (n genaiNative) NewStream(ep Endpoint, t Target) Stream { return &genaiNativeStream{} }

// genaiNativeStream passes Gemini's SSE chunks on as they came, reading the
// cumulative usageMetadata and the finish reason.
type genaiNativeStream struct {
	p      SSEParser
	usage  Usage
	finish string
}

func (s *genaiNativeStream) Usage() Usage         { return s.usage }
func (s *genaiNativeStream) FinishReason() string { return s.finish }

func (s *genaiNativeStream) Feed(chunk []byte, last bool) ([]byte, error) {
	var out []byte
	for _, ev := range s.p.Feed(chunk, last) {
		if len(ev.Data) == 0 {
			continue
		}
		var gr geminiResponse
		if json.Unmarshal(ev.Data, &gr) == nil {
			if gr.UsageMetadata != nil {
				s.usage = geminiUsageFrom(gr.UsageMetadata)
			}
			for _, c := range gr.Candidates {
				if f := geminiFinish(c.FinishReason, false); f != "" {
					s.finish = f
				}
			}
		}
		out = WriteSSE(out, ev.Event, ev.Data)
	}
	return out, nil
}

// genaiBridge is the chat bridge of generateContent: the stream is the
// path's (:streamGenerateContent), not a body field.
type genaiBridge struct{ chatBridge }

func (b genaiBridge) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	chat, e := b.toChat(body)
	if e != nil {
		return nil, e
	}
	if t.Stream {
		var err error
		if chat, err = sjson.SetBytes(chat, "stream", true); err != nil {
			return nil, err
		}
	}
	return b.inner.Request(Chat, chat, t)
}

// genaiRequest is the part of a generateContent request the bridge maps.
type genaiRequest struct {
	Contents          json.RawMessage `json:"contents"`
	SystemInstruction *struct {
		Parts []struct {
			Text *string `json:"text"`
		} `json:"parts"`
	} `json:"systemInstruction"`
	SystemInstructionSnake json.RawMessage `json:"system_instruction"`
	Tools                  []struct {
		FunctionDeclarations []struct {
			Name                 string          `json:"name"`
			Description          *string         `json:"description"`
			Parameters           json.RawMessage `json:"parameters"`
			ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	ToolConfig *struct {
		FunctionCallingConfig struct {
			Mode string `json:"mode"`
		} `json:"functionCallingConfig"`
	} `json:"toolConfig"`
	GenerationConfig map[string]json.RawMessage `json:"generationConfig"`
}

// genaiPart is a part of a content as the bridge reads it (camelCase or
// snake_case, as LiteLLM's adapter accepts both).
type genaiPart struct {
	Text             *string          `json:"text"`
	InlineData       *genaiMedia      `json:"inlineData"`
	InlineDataSnake  *genaiMedia      `json:"inline_data"`
	FileData         *genaiMedia      `json:"fileData"`
	FileDataSnake    *genaiMedia      `json:"file_data"`
	FunctionCall     *genaiFnCall     `json:"functionCall"`
	FunctionCallSn   *genaiFnCall     `json:"function_call"`
	FunctionResponse *genaiFnResponse `json:"functionResponse"`
	FunctionRespSn   *genaiFnResponse `json:"function_response"`
}

type genaiMedia struct {
	MimeType      string `json:"mimeType"`
	MimeTypeSnake string `json:"mime_type"`
	Data          string `json:"data"`
	FileURI       string `json:"fileUri"`
	FileURISnake  string `json:"file_uri"`
}

type genaiFnCall struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type genaiFnResponse struct {
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

func firstNonNil[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// mediaPart is LiteLLM's _genai_media_part: an image_url part for an
// image, else a file part.
func (p *genaiPart) mediaPart() map[string]any {
	inline := firstNonNil(p.InlineData, p.InlineDataSnake)
	file := firstNonNil(p.FileData, p.FileDataSnake)
	m := inline
	if m == nil {
		m = file
	}
	if m == nil {
		return nil
	}
	mime := m.MimeType
	if mime == "" {
		mime = m.MimeTypeSnake
	}
	if mime == "" && inline != nil {
		mime = "image/jpeg"
	}
	var source string
	if inline != nil {
		source = "data:" + mime + ";base64," + inline.Data
	} else {
		source = file.FileURI
		if source == "" {
			source = file.FileURISnake
		}
	}
	if source == "" {
		return nil
	}
	if strings.HasPrefix(strings.ToLower(mime), "image/") {
		return map[string]any{"type": "image_url", "image_url": map[string]any{"url": source, "format": mime}}
	}
	f := map[string]any{}
	switch {
	case inline != nil:
		f["file_data"], f["format"] = source, mime
	case mime != "":
		f["file_id"], f["format"] = source, mime
	default:
		f["file_id"] = source
	}
	return map[string]any{"type": "file", "file": f}
}

// GenAIToChat is a generateContent request as a chat completion request,
// as LiteLLM's GoogleGenAIAdapter.translate_generate_content_to_completion
// writes it.
func GenAIToChat(body []byte) ([]byte, *Error) {
	var r genaiRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, NewError(400, "invalid_request_error", "Invalid JSON in request body: "+err.Error(), "")
	}
	if r.SystemInstruction == nil && len(r.SystemInstructionSnake) > 0 {
		_ = json.Unmarshal(r.SystemInstructionSnake, &r.SystemInstruction)
	}
	msgs := []map[string]any{}
	if si := r.SystemInstruction; si != nil && len(si.Parts) > 0 && si.Parts[0].Text != nil {
		msgs = append(msgs, map[string]any{"role": "system", "content": *si.Parts[0].Text})
	}
	var contents []json.RawMessage
	if t := gjson.ParseBytes(r.Contents); t.IsObject() {
		contents = []json.RawMessage{r.Contents}
	} else if t.IsArray() {
		_ = json.Unmarshal(r.Contents, &contents)
	}
	for _, raw := range contents {
		var c struct {
			Role  string          `json:"role"`
			Parts json.RawMessage `json:"parts"`
		}
		if json.Unmarshal(raw, &c) != nil {
			continue
		}
		var parts []genaiPart
		if gjson.ParseBytes(c.Parts).IsObject() {
			var p genaiPart
			_ = json.Unmarshal(c.Parts, &p)
			parts = []genaiPart{p}
		} else {
			_ = json.Unmarshal(c.Parts, &parts)
		}
		var converted []map[string]any
		for i := range parts {
			if parts[i].Text != nil {
				converted = append(converted, map[string]any{"type": "text", "text": *parts[i].Text})
			} else if m := parts[i].mediaPart(); m != nil {
				converted = append(converted, m)
			}
		}
		role := c.Role
		if role == "" {
			role = "user"
		}
		switch role {
		case "user":
			if len(converted) == 1 && converted[0]["type"] == "text" {
				msgs = append(msgs, map[string]any{"role": "user", "content": converted[0]["text"]})
			} else if len(converted) > 0 {
				msgs = append(msgs, map[string]any{"role": "user", "content": converted})
			}
			for i := range parts {
				if fr := firstNonNil(parts[i].FunctionResponse, parts[i].FunctionRespSn); fr != nil {
					resp := string(fr.Response)
					if resp == "" || resp == "null" {
						resp = "{}"
					}
					msgs = append(msgs, map[string]any{"role": "tool", "tool_call_id": "call_" + nameOr(fr.Name), "content": resp})
				}
			}
		case "model":
			var text strings.Builder
			media := false
			for _, p := range converted {
				if p["type"] == "text" {
					text.WriteString(p["text"].(string))
				} else {
					media = true
				}
			}
			m := map[string]any{"role": "assistant"}
			switch {
			case media:
				m["content"] = converted
			case text.Len() > 0:
				m["content"] = text.String()
			default:
				m["content"] = nil
			}
			var calls []map[string]any
			for i := range parts {
				if fc := firstNonNil(parts[i].FunctionCall, parts[i].FunctionCallSn); fc != nil {
					args := string(fc.Args)
					if args == "" || args == "null" {
						args = "{}"
					}
					calls = append(calls, map[string]any{"id": "call_" + nameOr(fc.Name), "type": "function",
						"function": map[string]any{"name": fc.Name, "arguments": args}})
				}
			}
			if len(calls) > 0 {
				m["tool_calls"] = calls
			}
			msgs = append(msgs, m)
		}
	}
	req := map[string]any{"messages": msgs}
	if model := gjson.GetBytes(body, "model"); model.Type == gjson.String {
		req["model"] = model.Str
	}
	gc := r.GenerationConfig
	for from, to := range map[string]string{"temperature": "temperature", "maxOutputTokens": "max_tokens", "topP": "top_p", "stopSequences": "stop"} {
		if v, ok := gc[from]; ok {
			req[to] = v
		}
	}
	var tools []map[string]any
	for _, tl := range r.Tools {
		for _, fd := range tl.FunctionDeclarations {
			fn := map[string]any{"name": fd.Name}
			if fd.Description != nil {
				fn["description"] = *fd.Description
			}
			params := fd.Parameters
			if len(params) == 0 || string(params) == "null" {
				params = fd.ParametersJSONSchema
			}
			if gjson.ParseBytes(params).IsObject() {
				fn["parameters"] = lowerSchemaTypes(params)
			}
			tools = append(tools, map[string]any{"type": "function", "function": fn})
		}
	}
	if len(tools) > 0 {
		req["tools"] = tools
	}
	if r.ToolConfig != nil {
		req["tool_choice"] = map[string]string{"AUTO": "auto", "ANY": "required", "NONE": "none"}[r.ToolConfig.FunctionCallingConfig.Mode]
		if req["tool_choice"] == "" {
			req["tool_choice"] = "auto"
		}
	}
	out, err := json.Marshal(req)
	if err != nil {
		return nil, NewError(400, "invalid_request_error", err.Error(), "")
	}
	return out, nil
}

func nameOr(n string) string {
	if n == "" {
		return "unknown"
	}
	return n
}

// lowerSchemaTypes writes a Gemini schema's upper-case types ("OBJECT",
// "STRING") as JSON Schema's, as LiteLLM's normalize_tool_schema does.
func lowerSchemaTypes(raw json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	var walk func(x any, depth int)
	walk = func(x any, depth int) {
		if depth > 64 {
			return
		}
		switch t := x.(type) {
		case map[string]any:
			for k, c := range t {
				if s, ok := c.(string); ok && k == "type" {
					t[k] = strings.ToLower(s)
				} else {
					walk(c, depth+1)
				}
			}
		case []any:
			for _, c := range t {
				walk(c, depth+1)
			}
		}
	}
	walk(v, 0)
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

// genaiFinish is LiteLLM's _map_finish_reason.
func genaiFinish(reason string) string {
	switch reason {
	case "length":
		return "MAX_TOKENS"
	case "content_filter":
		return "SAFETY"
	}
	return "STOP"
}

// genaiUsage is LiteLLM's _map_usage.
func genaiUsage(u Usage) map[string]int {
	return map[string]int{"promptTokenCount": u.PromptTokens, "candidatesTokenCount": u.CompletionTokens, "totalTokenCount": u.TotalTokens}
}

// genaiCandidate is the one candidate LiteLLM's adapter writes.
func genaiCandidate(parts []map[string]any, finish *string) map[string]any {
	c := map[string]any{"content": map[string]any{"parts": parts, "role": "model"}, "index": 0, "safetyRatings": []any{}}
	if finish != nil {
		c["finishReason"] = *finish
	} else {
		c["finishReason"] = nil
	}
	return c
}

// genaiArgs is a tool call's arguments as an object ({} when not JSON).
func genaiArgs(s string) json.RawMessage {
	if s == "" || !gjson.Valid(s) {
		return json.RawMessage("{}")
	}
	return json.RawMessage(s)
}

// ChatToGenAI is a chat completion as a GenerateContentResponse, as
// LiteLLM's translate_completion_to_generate_content writes it.
func ChatToGenAI(body []byte, t Target) ([]byte, *Error) {
	var c ChatResponse
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, NewError(502, "internal_server_error", "llmgate: cannot read the provider's response: "+err.Error(), "")
	}
	if len(c.Choices) == 0 {
		return nil, NewError(500, "internal_server_error", "Invalid completion response: no choices found", "")
	}
	ch := c.Choices[0]
	var parts []map[string]any
	if ch.Message.Content != nil && *ch.Message.Content != "" {
		parts = append(parts, map[string]any{"text": *ch.Message.Content})
	}
	for _, tc := range ch.Message.ToolCalls {
		name := tc.Function.Name
		if name == "" {
			name = "undefined_tool_name"
		}
		parts = append(parts, map[string]any{"functionCall": map[string]any{"name": name, "args": genaiArgs(tc.Function.Arguments)}})
	}
	if len(parts) == 0 {
		parts = []map[string]any{{"text": ""}}
	}
	finish := genaiFinish(ch.FinishReason)
	out, err := json.Marshal(map[string]any{"candidates": []any{genaiCandidate(parts, &finish)}, "usageMetadata": genaiUsage(UsageFrom(c.Usage))})
	if err != nil {
		return nil, NewError(500, "internal_server_error", "llmgate: "+err.Error(), "")
	}
	return out, nil
}
