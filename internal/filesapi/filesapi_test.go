package filesapi

import (
	"net/url"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/config"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		method, path string
		want         Op
		ok           bool
	}{
		{"POST", "/v1/files", Op{Kind: FileCreate, Allow: "GET, POST"}, true},
		{"GET", "/files?purpose=batch", Op{Kind: FileList, Allow: "GET, POST"}, true},
		{"GET", "/v1/files/file-abc", Op{Kind: FileGet, Allow: "GET, DELETE", ID: "file-abc"}, true},
		{"DELETE", "/files/file-abc", Op{Kind: FileDelete, Allow: "GET, DELETE", ID: "file-abc"}, true},
		{"GET", "/v1/files/file-abc/content", Op{Kind: FileContent, Allow: "GET", ID: "file-abc"}, true},
		{"GET", "/azure/v1/files/file%2Dx", Op{Kind: FileGet, Allow: "GET, DELETE", ID: "file-x", PathProvider: "azure"}, true},
		{"POST", "/v1/batches", Op{Kind: BatchCreate, Allow: "GET, POST"}, true},
		{"GET", "/batches", Op{Kind: BatchList, Allow: "GET, POST"}, true},
		{"GET", "/openai/v1/batches/batch_1", Op{Kind: BatchGet, Allow: "GET", ID: "batch_1", PathProvider: "openai"}, true},
		{"POST", "/v1/batches/batch_1/cancel", Op{Kind: BatchCancel, Allow: "POST", ID: "batch_1"}, true},
		{"PUT", "/v1/files", Op{Allow: "GET, POST"}, true},
		{"POST", "/v1/files/file-abc/content", Op{Allow: "GET", ID: "file-abc"}, true},
		{"POST", "/v1/chat/completions", Op{}, false},
		{"GET", "/v1/filesystem", Op{}, false},
		{"GET", "/x/files", Op{}, false},
	} {
		got, ok := Parse(c.method, c.path)
		if ok != c.ok || got != c.want {
			t.Errorf("Parse(%s %s) = %+v %v, want %+v %v", c.method, c.path, got, ok, c.want, c.ok)
		}
	}
}

// TestProvider: each route reads custom_llm_provider where LiteLLM's does.
func TestProvider(t *testing.T) {
	r := func(k Kind, path, header, query string) *Request {
		q := url.Values{}
		if query != "" {
			q.Set("custom_llm_provider", query)
		}
		h := map[string]string{}
		if header != "" {
			h["custom-llm-provider"] = header
		}
		return &Request{Op: Op{Kind: k, PathProvider: path}, Query: q, Header: h}
	}
	up := &Upload{Provider: "form"}
	for _, c := range []struct {
		req  *Request
		u    *Upload
		want string
		req2 bool
	}{
		{r(FileCreate, "", "", ""), nil, "openai", false},
		{r(FileCreate, "", "", ""), up, "form", true},
		{r(FileCreate, "", "", "query"), up, "query", true},
		{r(FileCreate, "", "header", "query"), up, "header", true},
		{r(FileCreate, "path", "header", "query"), up, "path", true},
		{r(BatchGet, "", "", "query"), nil, "query", true},
		{r(BatchCreate, "", "", "query"), nil, "openai", false}, // LiteLLM's create reads no query
	} {
		got, requested := c.req.Provider(c.u, nil)
		if got != c.want || requested != c.req2 {
			t.Errorf("%+v: provider %q %v, want %q %v", c.req.Op, got, requested, c.want, c.req2)
		}
	}
}

func TestResolve(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "env-key", "OPENAI_API_BASE": "http://env/v1", "AZURE_API_KEY": "az-env", "AZURE_API_BASE": "http://az", "AZURE_API_VERSION": "2024-10-21"}
	getenv := func(n string) string { return env[n] }
	c, e := Resolve(FileGet, "openai", &config.FilesSetting{Provider: "openai", APIKey: "cfg-key"}, getenv)
	if e != nil || c.APIKey != "cfg-key" || c.APIBase != "http://env/v1" || c.URL("/files/x", nil) != "http://env/v1/files/x" || c.Header().Get("Authorization") != "Bearer cfg-key" {
		t.Errorf("openai: %+v %v", c, e)
	}
	c, e = Resolve(BatchCancel, "azure", nil, getenv)
	if e != nil || c.URL("/batches/b/cancel", nil) != "http://az/openai/batches/b/cancel?api-version=2024-10-21" || c.Header().Get("api-key") != "az-env" || c.Header().Get("Authorization") != "" {
		t.Errorf("azure: %+v %v %s", c, e, c.URL("/batches/b/cancel", nil))
	}
	if c, _ := Resolve(FileList, "openai", nil, func(string) string { return "" }); c.APIBase != "https://api.openai.com/v1" {
		t.Errorf("default base %q", c.APIBase)
	}
	if _, e := Resolve(FileCreate, "vertex_ai", nil, getenv); e == nil || e.Status != 400 || e.Message != "LiteLLM doesn't support vertex_ai for 'create_file'. Only ['openai', 'azure'] are supported." {
		t.Errorf("vertex_ai: %v", e)
	}
}

// TestUploadCheck: LiteLLM's checks of an upload, its messages and statuses.
func TestUploadCheck(t *testing.T) {
	ok := `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}`
	for _, c := range []struct {
		u      Upload
		status int
		msg    string
	}{
		{Upload{Purpose: "batch", Filename: "a.jsonl", File: []byte(ok + "\n\n" + ok)}, 0, ""},
		{Upload{Purpose: "nope", Filename: "a.txt"}, 400, "Invalid purpose: nope. Must be one of: ('assistants', 'assistants_output', 'batch', 'batch_output', 'fine-tune', 'fine-tune-results', 'vision', 'user_data', 'evals', 'messages')"},
		{Upload{Purpose: "assistants", Filename: "../etc/passwd"}, 400, "Filename '../etc/passwd' is not allowed: directory traversal sequences are not permitted in uploaded file names. The file was not forwarded to the provider."},
		{Upload{Purpose: "assistants", Filename: "a.txt", File: make([]byte, 2<<20)}, 413, "Uploaded file exceeds the configured max_file_size_mb of 1 MB (read stopped at 1.0 MB). The file was not forwarded to the provider."},
		{Upload{Purpose: "batch", Filename: "a.jsonl", File: []byte("\n \n")}, 400, "Batch input file has no request lines. The file was not forwarded to the provider."},
		{Upload{Purpose: "batch", Filename: "a.jsonl", File: []byte(ok + "\n{x")}, 400, "Batch input file line 2 is not valid JSON. The file was not forwarded to the provider."},
		{Upload{Purpose: "batch", Filename: "a.jsonl", File: []byte("[1]")}, 400, "Batch input file line 1 must be a JSON object. The file was not forwarded to the provider."},
		{Upload{Purpose: "batch", Filename: "a.jsonl", File: []byte(`{"custom_id":"a","url":"u","body":{}}`)}, 400, "Missing required parameter: 'method' (batch input file line 1). Each line must be a JSON object with keys custom_id, method, url, body. The file was not forwarded to the provider."},
		{Upload{Purpose: "assistants", Filename: "a.txt", ExpiresAnchor: new("last_active")}, 400, "{'error': 'Both expires_after[anchor] and expires_after[seconds] must be provided if expires_after is specified'}"},
		{Upload{Purpose: "assistants", Filename: "a.txt", ExpiresAnchor: new("last_active"), ExpiresSeconds: new("5")}, 400, "{'error': \"expires_after[anchor] must be 'created_at', got 'last_active'\"}"},
	} {
		e := c.u.Check(1, 0)
		switch {
		case c.status == 0 && e != nil:
			t.Errorf("%+v: %v", c.u.Filename, e)
		case c.status != 0 && (e == nil || e.Status != c.status || e.Message != c.msg):
			t.Errorf("%s: got %+v, want %d %q", c.u.Filename, e, c.status, c.msg)
		}
	}
	if e := (&Upload{Purpose: "batch", Filename: "a.jsonl", File: []byte(strings.Repeat(ok+"\n", 30000))}).Check(0, 1); e == nil || e.Status != 413 || !strings.HasSuffix(e.Message, "exceeds the configured max_batch_file_size_mb of 1 MB. The file was not forwarded to the provider.") {
		t.Errorf("max_batch_file_size_mb: %v", e)
	}
}

func TestProviderError(t *testing.T) {
	e := ProviderError(404, []byte(`{"error":{"message":"No such File object: file-x","type":"invalid_request_error","param":"id","code":null}}`))
	if e.Status != 404 || e.Type != "invalid_request_error" || e.Param != "id" ||
		e.Message != "Error code: 404 - {'error': {'message': 'No such File object: file-x', 'type': 'invalid_request_error', 'param': 'id', 'code': None}}" {
		t.Errorf("%+v", e)
	}
	if e := ProviderError(502, []byte("bad gateway")); e.Message != "Error code: 502 - bad gateway" || e.Type != "internal_server_error" {
		t.Errorf("%+v", e)
	}
}

// TestServeWithoutFilesSettings: LiteLLM's upload without files_settings
// is a 500; its batch routes with no provider named and no OpenAI key are
// OpenAI's 404s, before any provider call.
func TestServeWithoutFilesSettings(t *testing.T) {
	s := New(&config.Config{}, func(string) string { return "" }, nil, 1<<20)
	u := &Upload{Purpose: "assistants", Filename: "a.txt", File: []byte("x"), HasFile: true}
	ct, body := u.Form()
	_, e := s.Serve(t.Context(), &Request{Op: Op{Kind: FileCreate}, Header: map[string]string{"content-type": ct}, Body: body})
	if e == nil || e.Status != 500 || e.Message != "files_settings is not set, set it on your config.yaml file." {
		t.Errorf("upload: %v", e)
	}
	_, e = s.Serve(t.Context(), &Request{Op: Op{Kind: BatchGet, ID: "batch_1"}, Header: map[string]string{}})
	if e == nil || e.Status != 404 || e.Message != "No batch found with id 'batch_1'." {
		t.Errorf("batch get: %v", e)
	}
	_, e = s.Serve(t.Context(), &Request{Op: Op{Kind: BatchCreate}, Header: map[string]string{}, Body: []byte(`{"input_file_id":"file-9"}`)})
	if e == nil || e.Status != 404 || e.Message != "No such File object: file-9" {
		t.Errorf("batch create: %v", e)
	}
}

// TestIDs: LiteLLM's encoding of the model into file and batch ids (its
// docstring's examples), decoded back; other ids carry no model.
func TestIDs(t *testing.T) {
	if got := EncodeID("file-abc123", "gpt-4o-litellm", false); got != "file-bGl0ZWxsbTpmaWxlLWFiYzEyMzttb2RlbCxncHQtNG8tbGl0ZWxsbQ" {
		t.Errorf("file id %s", got)
	}
	if got := EncodeID("batch_abc123", "gpt-4o-test", true); got != "batch_bGl0ZWxsbTpiYXRjaF9hYmMxMjM7bW9kZWwsZ3B0LTRvLXRlc3Q" {
		t.Errorf("batch id %s", got)
	}
	if got := EncodeID("3814889423749775360", "gemini-2.5-pro", true); got != "batch_bGl0ZWxsbTozODE0ODg5NDIzNzQ5Nzc1MzYwO21vZGVsLGdlbWluaS0yLjUtcHJv" {
		t.Errorf("numeric batch id %s", got)
	}
	if orig, m, ok := DecodeID("batch_bGl0ZWxsbTpiYXRjaF9hYmMxMjM7bW9kZWwsZ3B0LTRvLXRlc3Q"); !ok || orig != "batch_abc123" || m != "gpt-4o-test" {
		t.Errorf("decoded %q %q %v", orig, m, ok)
	}
	for _, id := range []string{"file-abc123", "batch_xyz", "", "file-!!"} {
		if _, _, ok := DecodeID(id); ok {
			t.Errorf("%q decoded", id)
		}
	}
}
