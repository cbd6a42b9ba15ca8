package fakeprovider

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// OpenAI's Files and Batches APIs (and Azure's, under /openai/ with
// ?api-version=): POST /files (multipart: purpose, file), GET /files,
// GET and DELETE /files/{id}, GET /files/{id}/content; POST /batches,
// GET /batches, GET /batches/{id}, POST /batches/{id}/cancel. A batch is
// "validating" when made; its first GET runs its input file's requests
// (a fake chat completion each) and completes it with an output file.

// storedFile is one uploaded (or batch output) file.
type storedFile struct {
	obj     map[string]any
	content []byte
}

// filesStore is a server's files and batches, kept in memory.
type filesStore struct {
	mu      sync.Mutex
	files   map[string]*storedFile
	batches map[string]map[string]any
	order   []string // file and batch ids, oldest first
}

// maxStoredFiles bounds the files and batches one fake keeps.
const maxStoredFiles = 4096

func (s *filesStore) init() {
	if s.files == nil {
		s.files = map[string]*storedFile{}
		s.batches = map[string]map[string]any{}
	}
}

func (s *filesStore) add(id string) {
	s.order = append(s.order, id)
	if len(s.order) > maxStoredFiles {
		old := s.order[0]
		s.order = s.order[1:]
		delete(s.files, old)
		delete(s.batches, old)
	}
}

// filesRoute is the handler of a Files or Batches API path, if p is one.
func filesRoute(p string) (endpoint, bool) {
	prov := providerOpenAI
	if strings.Contains(p, "/openai/files") || strings.Contains(p, "/openai/batches") {
		prov = providerAzure
	}
	for _, coll := range []string{"/files", "/batches"} {
		i := strings.LastIndex(p, coll)
		if i < 0 {
			continue
		}
		rest := p[i+len(coll):]
		if rest != "" && rest[0] != '/' {
			continue
		}
		rest = strings.TrimPrefix(rest, "/")
		id, op, _ := strings.Cut(rest, "/")
		if strings.Contains(op, "/") || (op != "" && op != "content" && op != "cancel") {
			continue
		}
		kind := coll[1:]
		return endpoint{provider: prov, model: id, extra: kind + " " + op, handle: handleFilesAPI}, true
	}
	return endpoint{}, false
}

func handleFilesAPI(c *call) {
	if !c.checkOpenAIAuth() {
		return
	}
	st := &c.s.files
	st.mu.Lock()
	defer st.mu.Unlock()
	st.init()
	kind, op, _ := strings.Cut(c.extra, " ")
	id, m := c.model, c.r.Method
	c.model = ""
	switch {
	case kind == "files" && id == "" && m == http.MethodPost:
		c.createFile(st)
	case kind == "files" && id == "" && m == http.MethodGet:
		c.listObjects(st, "files")
	case kind == "files" && op == "" && (m == http.MethodGet || m == http.MethodDelete):
		f, ok := st.files[id]
		if !ok {
			c.failOpenAIParam(http.StatusNotFound, "No such File object: "+id, "id")
			return
		}
		if m == http.MethodDelete {
			delete(st.files, id)
			c.json(http.StatusOK, map[string]any{"id": id, "object": "file", "deleted": true})
			return
		}
		c.json(http.StatusOK, f.obj)
	case kind == "files" && op == "content" && m == http.MethodGet:
		f, ok := st.files[id]
		if !ok {
			c.failOpenAIParam(http.StatusNotFound, "No such File object: "+id, "id")
			return
		}
		c.raw(http.StatusOK, "application/octet-stream", f.content)
	case kind == "batches" && id == "" && m == http.MethodPost:
		c.createBatch(st)
	case kind == "batches" && id == "" && m == http.MethodGet:
		c.listObjects(st, "batches")
	case kind == "batches" && op == "" && m == http.MethodGet:
		b, ok := st.batches[id]
		if !ok {
			c.failOpenAIParam(http.StatusNotFound, "No batch found with id '"+id+"'.", "")
			return
		}
		if b["status"] == "validating" {
			c.completeBatch(st, b)
		}
		c.json(http.StatusOK, b)
	case kind == "batches" && op == "cancel" && m == http.MethodPost:
		b, ok := st.batches[id]
		if !ok {
			c.failOpenAIParam(http.StatusNotFound, "No batch found with id '"+id+"'.", "")
			return
		}
		if s := b["status"]; s != "validating" && s != "in_progress" {
			c.failOpenAIParam(http.StatusConflict, "Cannot cancel a batch with status '"+s.(string)+"'.", "")
			return
		}
		b["status"] = "cancelling"
		b["cancelling_at"] = time.Now().Unix()
		c.json(http.StatusOK, b)
	default:
		c.fail(http.StatusNotFound, "Invalid URL ("+m+" "+c.r.URL.Path+")")
	}
}

// failOpenAIParam is OpenAI's error with a param (null when "").
func (c *call) failOpenAIParam(status int, msg, param string) {
	var p any
	if param != "" {
		p = param
	}
	// OpenAI's key order: message, type, param, code.
	type errObj struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Param   any    `json:"param"`
		Code    any    `json:"code"`
	}
	c.json(status, map[string]errObj{"error": {Message: msg, Type: "invalid_request_error", Param: p}})
}

var filePurposes = []string{"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}

func (c *call) createFile(st *filesStore) {
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		c.failOpenAIParam(http.StatusBadRequest, "Invalid Content-Type header ("+c.r.Header.Get("Content-Type")+"), expected multipart/form-data. (HINT: If you're using curl, you can pass -H 'Content-Type: multipart/form-data')", "")
		return
	}
	mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
	var purpose, filename string
	var content []byte
	haveFile := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			c.failOpenAIParam(http.StatusBadRequest, "Could not parse multipart form", "")
			return
		}
		b, _ := io.ReadAll(part)
		switch part.FormName() {
		case "purpose":
			purpose = string(b)
		case "file":
			filename, content, haveFile = part.FileName(), b, true
		}
	}
	if purpose == "" {
		c.failOpenAIParam(http.StatusBadRequest, "Missing required parameter: 'purpose'.", "purpose")
		return
	}
	if !slices.Contains(filePurposes, purpose) {
		c.failOpenAIParam(http.StatusBadRequest, "'"+purpose+"' is not one of "+strings.Join(filePurposes, ", ")+" - 'purpose'", "purpose")
		return
	}
	if !haveFile {
		c.failOpenAIParam(http.StatusBadRequest, "Missing required parameter: 'file'.", "file")
		return
	}
	f := st.put(filename, purpose, content)
	c.json(http.StatusOK, f.obj)
}

// put stores a file and answers its object.
func (st *filesStore) put(filename, purpose string, content []byte) *storedFile {
	id := newID("file-")
	f := &storedFile{content: content, obj: map[string]any{
		"id": id, "object": "file", "bytes": len(content), "created_at": time.Now().Unix(), "expires_at": nil,
		"filename": filename, "purpose": purpose, "status": "processed", "status_details": nil,
	}}
	st.files[id] = f
	st.add(id)
	return f
}

func (c *call) createBatch(st *filesStore) {
	var req struct {
		InputFileID      string         `json:"input_file_id"`
		Endpoint         string         `json:"endpoint"`
		CompletionWindow string         `json:"completion_window"`
		Metadata         map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.failOpenAIParam(http.StatusBadRequest, "We could not parse the JSON body of your request. ("+err.Error()+")", "")
		return
	}
	for _, f := range [][2]string{{"input_file_id", req.InputFileID}, {"endpoint", req.Endpoint}, {"completion_window", req.CompletionWindow}} {
		if f[1] == "" {
			c.failOpenAIParam(http.StatusBadRequest, "Missing required parameter: '"+f[0]+"'.", f[0])
			return
		}
	}
	if f, ok := st.files[req.InputFileID]; !ok || f.obj["purpose"] != "batch" {
		c.failOpenAIParam(http.StatusBadRequest, "Invalid 'input_file_id': '"+req.InputFileID+"'. No such file, or its purpose is not batch.", "input_file_id")
		return
	}
	now := time.Now().Unix()
	id := newID("batch_")
	var md any
	if req.Metadata != nil {
		md = req.Metadata
	}
	b := map[string]any{
		"id": id, "object": "batch", "endpoint": req.Endpoint, "errors": nil, "input_file_id": req.InputFileID,
		"completion_window": req.CompletionWindow, "status": "validating", "output_file_id": nil, "error_file_id": nil,
		"created_at": now, "in_progress_at": nil, "expires_at": now + 86400, "finalizing_at": nil, "completed_at": nil,
		"failed_at": nil, "expired_at": nil, "cancelling_at": nil, "cancelled_at": nil,
		"request_counts": map[string]int{"total": 0, "completed": 0, "failed": 0}, "metadata": md,
	}
	st.batches[id] = b
	st.add(id)
	c.json(http.StatusOK, b)
}

// completeBatch answers every request of a batch's input file with a fake
// chat completion and completes the batch with the output file.
func (c *call) completeBatch(st *filesStore, b map[string]any) {
	in := st.files[b["input_file_id"].(string)]
	var out bytes.Buffer
	n := 0
	if in != nil {
		for _, line := range bytes.Split(in.content, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var r struct {
				CustomID string `json:"custom_id"`
				Body     struct {
					Model string `json:"model"`
				} `json:"body"`
			}
			_ = json.Unmarshal(line, &r)
			n++
			text := "fake batch response to: " + r.CustomID
			body := map[string]any{
				"id": newID("chatcmpl-"), "object": "chat.completion", "created": time.Now().Unix(), "model": r.Body.Model,
				"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
				"usage":   map[string]int{"prompt_tokens": 5, "completion_tokens": countTokens(text), "total_tokens": 5 + countTokens(text)},
			}
			row, _ := json.Marshal(map[string]any{"id": newID("batch_req_"), "custom_id": r.CustomID,
				"response": map[string]any{"status_code": 200, "request_id": newID("req_"), "body": body}, "error": nil})
			out.Write(row)
			out.WriteByte('\n')
		}
	}
	f := st.put(b["id"].(string)+"_output.jsonl", "batch_output", out.Bytes())
	now := time.Now().Unix()
	b["status"], b["output_file_id"] = "completed", f.obj["id"]
	b["in_progress_at"], b["finalizing_at"], b["completed_at"] = now, now, now
	b["request_counts"] = map[string]int{"total": n, "completed": n, "failed": 0}
}

// listObjects answers a cursor page (newest first) of files or batches:
// ?limit (files 10000, batches 20 by default), ?after, files' ?purpose.
func (c *call) listObjects(st *filesStore, kind string) {
	q := c.r.URL.Query()
	limit := 20
	if kind == "files" {
		limit = 10000
	}
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v > 0 {
		limit = v
	}
	after := q.Get("after")
	data := []any{}
	started := after == ""
	hasMore := false
	for i := len(st.order) - 1; i >= 0; i-- {
		id := st.order[i]
		var obj map[string]any
		if kind == "files" {
			if f, ok := st.files[id]; ok && (q.Get("purpose") == "" || f.obj["purpose"] == q.Get("purpose")) {
				obj = f.obj
			}
		} else if b, ok := st.batches[id]; ok {
			obj = b
		}
		if obj == nil {
			continue
		}
		if !started {
			started = id == after
			continue
		}
		if len(data) == limit {
			hasMore = true
			break
		}
		data = append(data, obj)
	}
	page := map[string]any{"object": "list", "data": data, "first_id": nil, "last_id": nil, "has_more": hasMore}
	if len(data) > 0 {
		page["first_id"] = data[0].(map[string]any)["id"]
		page["last_id"] = data[len(data)-1].(map[string]any)["id"]
	}
	c.json(http.StatusOK, page)
}
