package fakeprovider

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// Gemini (Google AI Studio, /v1beta/models/...) and Vertex AI
// (/v1/projects/{p}/locations/{l}/publishers/google/models/...) wire
// format, plus a fake OAuth token endpoint for Vertex service accounts.

const (
	geminiGenerate      = "generateContent"
	geminiStream        = "streamGenerateContent"
	geminiEmbed         = "embedContent"
	geminiBatchEmbed    = "batchEmbedContents"
	geminiPredict       = "predict"
	geminiCountTokens   = "countTokens"
	vertexPathMarker    = "/projects/"
	fakeAccessTokenPref = "fake-token-"
)

type gmPart struct {
	Text         string `json:"text,omitempty"`
	FunctionCall *struct {
		Name string          `json:"name"`
		Args json.RawMessage `json:"args"`
	} `json:"functionCall,omitempty"`
}

type gmContent struct {
	Role  string   `json:"role,omitempty"`
	Parts []gmPart `json:"parts"`
}

type gmRequest struct {
	Contents          []gmContent `json:"contents"`
	SystemInstruction *gmContent  `json:"systemInstruction"`
	Tools             []struct {
		FunctionDeclarations []struct {
			Name string `json:"name"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	ToolConfig *struct {
		FunctionCallingConfig struct {
			Mode                 string   `json:"mode"`
			AllowedFunctionNames []string `json:"allowedFunctionNames"`
		} `json:"functionCallingConfig"`
	} `json:"toolConfig"`
}

type gmUsage struct {
	PromptTokenCount     int `json:"promptTokenCount"`
	CandidatesTokenCount int `json:"candidatesTokenCount"`
	TotalTokenCount      int `json:"totalTokenCount"`
}

type gmOutPart struct {
	Text         *string         `json:"text,omitempty"`
	FunctionCall *gmFunctionCall `json:"functionCall,omitempty"`
}

type gmFunctionCall struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type gmCandidate struct {
	Content struct {
		Parts []gmOutPart `json:"parts"`
		Role  string      `json:"role"`
	} `json:"content"`
	FinishReason string `json:"finishReason,omitempty"`
	Index        int    `json:"index"`
}

type gmResponse struct {
	Candidates    []gmCandidate `json:"candidates"`
	UsageMetadata gmUsage       `json:"usageMetadata"`
	ModelVersion  string        `json:"modelVersion"`
	ResponseID    string        `json:"responseId"`
}

// geminiFinishReason maps an OpenAI-words finish reason to Gemini's.
func geminiFinishReason(finish string) string {
	switch finish {
	case "stop", "tool_calls":
		return "STOP"
	case "length":
		return "MAX_TOKENS"
	case "content_filter":
		return "SAFETY"
	}
	return finish
}

// geminiAuth checks an AI Studio key (x-goog-api-key or ?key=) or a
// Vertex bearer token (from APIKeys or issued by the fake /token).
func (c *call) geminiAuth() bool {
	if strings.Contains(c.r.URL.Path, vertexPathMarker) {
		tok, ok := strings.CutPrefix(c.r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			c.fail(http.StatusUnauthorized, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
			return false
		}
		if _, issued := c.s.tokens.Load(tok); !issued && !c.s.keyOK(tok) {
			c.fail(http.StatusUnauthorized, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
			return false
		}
		return true
	}
	key := c.r.Header.Get("X-Goog-Api-Key")
	if key == "" {
		key = c.r.URL.Query().Get("key")
	}
	if len(c.s.opts.APIKeys) == 0 {
		return true
	}
	if key == "" {
		c.fail(http.StatusForbidden, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
		return false
	}
	if !c.s.keyOK(key) {
		c.fail(http.StatusBadRequest, "API key not valid. Please pass a valid API key.")
		return false
	}
	return true
}

func handleGemini(c *call) {
	if !c.geminiAuth() {
		return
	}
	switch c.extra {
	case geminiGenerate, geminiStream:
		handleGeminiGenerate(c)
	case geminiEmbed, geminiBatchEmbed, geminiPredict:
		handleGeminiEmbed(c)
	case geminiCountTokens:
		var req gmRequest
		if err := json.Unmarshal(c.body, &req); err != nil {
			c.fail(http.StatusBadRequest, "Invalid JSON payload received. "+err.Error())
			return
		}
		if !c.begin() {
			return
		}
		n := 0
		for _, ct := range req.Contents {
			for _, p := range ct.Parts {
				n += countTokens(p.Text)
			}
		}
		c.json(http.StatusOK, map[string]int{"totalTokens": n})
	default:
		c.fail(http.StatusNotFound, "Method not found: "+c.extra)
	}
}

func handleGeminiGenerate(c *call) {
	var req gmRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "Invalid JSON payload received. "+err.Error())
		return
	}
	if len(req.Contents) == 0 {
		c.fail(http.StatusBadRequest, "* GenerateContentRequest.contents: contents is not specified")
		return
	}
	stream := c.extra == geminiStream
	c.streaming = stream
	if !c.begin() {
		return
	}
	prompt := 0
	if req.SystemInstruction != nil {
		for _, p := range req.SystemInstruction.Parts {
			prompt += countTokens(p.Text)
		}
	}
	var lastUser string
	for _, ct := range req.Contents {
		var parts []string
		for _, p := range ct.Parts {
			prompt += countTokens(p.Text)
			if p.Text != "" {
				parts = append(parts, p.Text)
			}
		}
		if ct.Role == "" || ct.Role == "user" {
			lastUser = strings.Join(parts, " ")
		}
	}
	tool := ""
	if len(req.Tools) > 0 && len(req.Tools[0].FunctionDeclarations) > 0 {
		first := req.Tools[0].FunctionDeclarations[0].Name
		mode := ""
		var allowed []string
		if req.ToolConfig != nil {
			mode = strings.ToUpper(req.ToolConfig.FunctionCallingConfig.Mode)
			allowed = req.ToolConfig.FunctionCallingConfig.AllowedFunctionNames
		}
		switch {
		case mode == "ANY" && len(allowed) > 0:
			tool = allowed[0]
		case mode == "ANY":
			tool = first
		case mode == "NONE":
		case wantsTool(lastUser):
			tool = first
		}
	}
	var reply string
	output := 0
	if tool == "" {
		reply = c.s.replyText(lastUser)
		output = countTokens(reply)
	} else {
		output = max(1, countTokens(c.s.opts.ToolArguments))
	}
	finish := geminiFinishReason(c.finishReason(tool != ""))
	resp := gmResponse{ModelVersion: c.model, ResponseID: newID("")}
	build := func(parts []gmOutPart, finishReason string, outSoFar int) gmResponse {
		cand := gmCandidate{FinishReason: finishReason}
		cand.Content.Parts = parts
		cand.Content.Role = "model"
		resp.Candidates = []gmCandidate{cand}
		resp.UsageMetadata = gmUsage{prompt, outSoFar, prompt + outSoFar}
		return resp
	}
	var pieces [][]gmOutPart
	if tool != "" {
		pieces = [][]gmOutPart{{{FunctionCall: &gmFunctionCall{Name: tool, Args: c.s.toolInput()}}}}
	} else if !stream {
		pieces = [][]gmOutPart{{{Text: &reply}}}
	} else {
		for _, p := range splitChunks(reply, c.s.opts.StreamChunks) {
			pieces = append(pieces, []gmOutPart{{Text: &p}})
		}
	}
	if !stream {
		c.json(http.StatusOK, build(pieces[0], finish, output))
		return
	}
	sse := c.r.URL.Query().Get("alt") == "sse"
	if sse {
		c.startStream("text/event-stream")
	} else {
		c.startStream("application/json")
	}
	soFar := 0
	for i, parts := range pieces {
		fr := ""
		if i == len(pieces)-1 {
			fr = finish
			soFar = output
		} else if parts[0].Text != nil {
			soFar += countTokens(*parts[0].Text)
		}
		b, err := json.Marshal(build(parts, fr, soFar))
		if err != nil {
			c.abort()
		}
		switch {
		case sse:
			// Gemini ends each event with CRLF CRLF.
			c.chunk(append(append([]byte("data: "), b...), "\r\n\r\n"...))
		case i == 0:
			c.chunk(append([]byte("["), b...))
		default:
			c.chunk(append([]byte(",\r\n"), b...))
		}
	}
	if !sse {
		c.writeChunk([]byte("]"))
	}
}

func handleGeminiEmbed(c *call) {
	type content struct {
		Parts []gmPart `json:"parts"`
	}
	var req struct {
		Content              content `json:"content"`
		OutputDimensionality int     `json:"outputDimensionality"`
		Requests             []struct {
			Content              content `json:"content"`
			OutputDimensionality int     `json:"outputDimensionality"`
		} `json:"requests"`
		Instances []struct {
			Content string `json:"content"`
		} `json:"instances"`
		Parameters struct {
			OutputDimensionality int `json:"outputDimensionality"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "Invalid JSON payload received. "+err.Error())
		return
	}
	if !c.begin() {
		return
	}
	text := func(ct content) string {
		var parts []string
		for _, p := range ct.Parts {
			parts = append(parts, p.Text)
		}
		return strings.Join(parts, " ")
	}
	dims := func(n int) int {
		if n > 0 {
			return n
		}
		return c.s.opts.EmbeddingDims
	}
	type values struct {
		Values []float64 `json:"values"`
	}
	switch c.extra {
	case geminiEmbed:
		c.json(http.StatusOK, map[string]values{"embedding": {embedding(text(req.Content), dims(req.OutputDimensionality))}})
	case geminiBatchEmbed:
		out := make([]values, len(req.Requests))
		for i, r := range req.Requests {
			out[i] = values{embedding(text(r.Content), dims(r.OutputDimensionality))}
		}
		c.json(http.StatusOK, map[string][]values{"embeddings": out})
	default: // Vertex :predict for text embedding models
		type prediction struct {
			Embeddings struct {
				Statistics struct {
					Truncated  bool `json:"truncated"`
					TokenCount int  `json:"token_count"`
				} `json:"statistics"`
				Values []float64 `json:"values"`
			} `json:"embeddings"`
		}
		out := make([]prediction, len(req.Instances))
		for i, in := range req.Instances {
			out[i].Embeddings.Values = embedding(in.Content, dims(req.Parameters.OutputDimensionality))
			out[i].Embeddings.Statistics.TokenCount = countTokens(in.Content)
		}
		c.json(http.StatusOK, map[string]any{"predictions": out})
	}
}

// geminiStatus is Google's canonical status name for an HTTP status.
func geminiStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	return "INTERNAL"
}

func (c *call) failGemini(status int, msg string) {
	if msg == "" {
		switch status {
		case http.StatusTooManyRequests:
			msg = "Resource has been exhausted (e.g. check quota)."
		case http.StatusServiceUnavailable:
			msg = "The model is overloaded. Please try again later."
		default:
			msg = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
			if status < 500 {
				msg = strings.ToLower(http.StatusText(status))
			}
		}
	}
	c.json(status, map[string]any{"error": map[string]any{"code": status, "message": msg, "status": geminiStatus(status)}})
}

// handleOAuthToken is a fake Google OAuth 2.0 token endpoint: it accepts a
// service-account JWT bearer grant (or a refresh token grant) and issues
// a fake access token that the Vertex endpoints then accept.
func handleOAuthToken(c *call) {
	// The body was read for recording already; parse it from there.
	form, err := url.ParseQuery(string(c.body))
	if err != nil {
		c.json(http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "Invalid form body."})
		return
	}
	switch gt := form.Get("grant_type"); gt {
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if strings.Count(form.Get("assertion"), ".") != 2 {
			c.json(http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
			return
		}
	case "refresh_token":
		if form.Get("refresh_token") == "" {
			c.json(http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "Missing required parameter: refresh_token"})
			return
		}
	default:
		c.json(http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "Invalid grant_type: " + gt})
		return
	}
	if !c.begin() {
		return
	}
	tok := newID(fakeAccessTokenPref)
	c.s.tokens.Store(tok, struct{}{})
	c.json(http.StatusOK, map[string]any{"access_token": tok, "expires_in": 3600, "token_type": "Bearer"})
}
