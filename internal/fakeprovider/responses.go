package fakeprovider

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// OpenAI's Responses API (and Azure's, at /openai/responses): POST
// /responses answers a Response object or its stream of events; GET and
// DELETE /responses/{id}, GET /responses/{id}/input_items and POST
// /responses/{id}/cancel serve the responses this server stored.

type oaResponsesRequest struct {
	Model              string          `json:"model"`
	Input              json.RawMessage `json:"input"`
	Instructions       string          `json:"instructions"`
	Stream             bool            `json:"stream"`
	PreviousResponseID string          `json:"previous_response_id"`
	Tools              []struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tools"`
}

// storedResponse is one response the fake keeps for its GET/DELETE routes.
type storedResponse struct {
	body  map[string]any
	input []any
}

// maxStoredResponses bounds the responses kept.
const maxStoredResponses = 1024

// responseStore holds the responses answered, by id.
type responseStore struct {
	mu sync.Mutex
	m  map[string]storedResponse
}

var responsesKept = responseStore{m: map[string]storedResponse{}}

func (s *responseStore) put(id string, r storedResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxStoredResponses {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[id] = r
}

func (s *responseStore) get(id string) (storedResponse, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[id]
	return r, ok
}

func (s *responseStore) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[id]
	delete(s.m, id)
	return ok
}

// responsesInput is the input's items, the last user text and its tokens.
func responsesInput(raw json.RawMessage, instructions string) (items []any, lastUser string, tokens int) {
	tokens = countTokens(instructions)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		items = []any{map[string]any{"type": "message", "role": "user", "content": []any{map[string]any{"type": "input_text", "text": s}}}}
		return items, s, tokens + countTokens(s)
	}
	var list []struct {
		Type    string          `json:"type"`
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
		Output  json.RawMessage `json:"output"`
	}
	_ = json.Unmarshal(raw, &list)
	_ = json.Unmarshal(raw, &items)
	for _, it := range list {
		t := textOf(it.Content)
		if it.Type == "function_call_output" {
			t = textOf(it.Output)
		}
		tokens += countTokens(t)
		if it.Role == "user" {
			lastUser = t
		}
	}
	return items, lastUser, tokens
}

func handleOpenAIResponses(c *call) {
	var req oaResponsesRequest
	if !c.openAIRequest(&req, &req.Model) {
		return
	}
	if req.Model == "" {
		c.failOpenAIWith(http.StatusBadRequest, "Missing required parameter: 'model'.", "invalid_request_error", "missing_required_parameter")
		return
	}
	if req.PreviousResponseID != "" {
		if _, ok := responsesKept.get(req.PreviousResponseID); !ok {
			c.failOpenAIWith(http.StatusNotFound, "Previous response with id '"+req.PreviousResponseID+"' not found.", "invalid_request_error", "previous_response_not_found")
			return
		}
	}
	c.streaming = req.Stream
	if !c.begin() {
		return
	}
	items, lastUser, prompt := responsesInput(req.Input, req.Instructions)
	var tool string
	for _, t := range req.Tools {
		if t.Type == "function" && wantsTool(lastUser) {
			tool = t.Name
			break
		}
	}
	reply, completion := "", 0
	if tool == "" {
		reply = c.s.replyText(lastUser)
		completion = countTokens(reply)
	} else {
		completion = max(1, countTokens(c.s.opts.ToolArguments))
	}
	id := newID("resp_")
	msgID, callID := newID("msg_"), newID("call_")
	usage := map[string]any{"input_tokens": prompt, "input_tokens_details": map[string]int{"cached_tokens": 0},
		"output_tokens": completion, "output_tokens_details": map[string]int{"reasoning_tokens": 0}, "total_tokens": prompt + completion}
	text := func(t string) map[string]any {
		return map[string]any{"type": "output_text", "text": t, "annotations": []any{}}
	}
	var item map[string]any
	if tool == "" {
		item = map[string]any{"type": "message", "id": msgID, "status": "completed", "role": "assistant", "content": []any{text(reply)}}
	} else {
		item = map[string]any{"type": "function_call", "id": "fc_" + callID, "call_id": callID, "name": tool, "arguments": c.s.opts.ToolArguments, "status": "completed"}
	}
	resp := func(status string, output []any, u any) map[string]any {
		r := map[string]any{"id": id, "object": "response", "created_at": time.Now().Unix(), "status": status, "error": nil,
			"incomplete_details": nil, "instructions": nilIfEmpty(req.Instructions), "model": req.Model, "output": output,
			"parallel_tool_calls": true, "previous_response_id": nilIfEmpty(req.PreviousResponseID), "store": true,
			"tool_choice": "auto", "tools": []any{}, "usage": u}
		return r
	}
	final := resp("completed", []any{item}, usage)
	responsesKept.put(id, storedResponse{body: final, input: items})
	if !req.Stream {
		c.json(http.StatusOK, final)
		return
	}
	c.startStream("text/event-stream")
	seq := 0
	ev := func(typ string, fields map[string]any) {
		fields["type"], fields["sequence_number"] = typ, seq
		seq++
		c.sseJSON(typ, fields)
	}
	ev("response.created", map[string]any{"response": resp("in_progress", []any{}, nil)})
	ev("response.in_progress", map[string]any{"response": resp("in_progress", []any{}, nil)})
	if tool == "" {
		ev("response.output_item.added", map[string]any{"output_index": 0, "item": map[string]any{"type": "message", "id": msgID, "status": "in_progress", "role": "assistant", "content": []any{}}})
		ev("response.content_part.added", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "part": text("")})
		for _, piece := range splitChunks(reply, c.s.opts.StreamChunks) {
			ev("response.output_text.delta", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "delta": piece})
		}
		ev("response.output_text.done", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "text": reply})
		ev("response.content_part.done", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "part": text(reply)})
	} else {
		added := map[string]any{"type": "function_call", "id": "fc_" + callID, "call_id": callID, "name": tool, "arguments": "", "status": "in_progress"}
		ev("response.output_item.added", map[string]any{"output_index": 0, "item": added})
		for _, frag := range c.s.toolArgFragments() {
			ev("response.function_call_arguments.delta", map[string]any{"item_id": "fc_" + callID, "output_index": 0, "delta": frag})
		}
		ev("response.function_call_arguments.done", map[string]any{"item_id": "fc_" + callID, "output_index": 0, "arguments": c.s.opts.ToolArguments})
	}
	ev("response.output_item.done", map[string]any{"output_index": 0, "item": item})
	ev("response.completed", map[string]any{"response": final})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// handleOpenAIResponseByID serves GET/DELETE /responses/{id},
// GET /responses/{id}/input_items and POST /responses/{id}/cancel (c.extra
// is the id, c.model the action: "", "input_items" or "cancel").
func handleOpenAIResponseByID(c *call) {
	if !c.checkOpenAIAuth() || !c.begin() {
		return
	}
	id, action := c.extra, c.model
	c.model = ""
	r, ok := responsesKept.get(id)
	if !ok {
		c.failOpenAIWith(http.StatusNotFound, "Response with id '"+id+"' not found.", "invalid_request_error", nil)
		return
	}
	switch {
	case c.r.Method == http.MethodDelete && action == "":
		responsesKept.remove(id)
		c.json(http.StatusOK, map[string]any{"id": id, "object": "response", "deleted": true})
	case c.r.Method == http.MethodGet && action == "":
		c.json(http.StatusOK, r.body)
	case c.r.Method == http.MethodGet && action == "input_items":
		data := r.input
		if data == nil {
			data = []any{}
		}
		c.json(http.StatusOK, map[string]any{"object": "list", "data": data, "first_id": nil, "last_id": nil, "has_more": false})
	case c.r.Method == http.MethodPost && action == "cancel":
		// Only a background response can be cancelled (OpenAI's answer for the others).
		c.failOpenAIWith(http.StatusBadRequest, "Only responses created with background=true can be cancelled.", "invalid_request_error", nil)
	default:
		c.failOpenAIWith(http.StatusMethodNotAllowed, "method not allowed", "invalid_request_error", nil)
	}
}

// responseByIDRoute matches .../responses/{id}[/input_items|/cancel].
func responseByIDRoute(r *http.Request, p string) (endpoint, bool) {
	i := strings.LastIndex(p, "/responses/")
	if i < 0 {
		return endpoint{}, false
	}
	rest := p[i+len("/responses/"):]
	action := ""
	if id, a, ok := strings.Cut(rest, "/"); ok {
		rest, action = id, a
	}
	if rest == "" || (action != "" && action != "input_items" && action != "cancel") {
		return endpoint{}, false
	}
	prov := providerOpenAI
	if strings.Contains(p, "/openai/responses/") {
		prov = providerAzure
	}
	return endpoint{provider: prov, model: action, extra: rest, handle: handleOpenAIResponseByID}, true
}
