package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/filesapi"
)

// filesConfig is files_settings for an OpenAI and an Azure Files API on
// the fake, the OpenAI key from the environment (os.environ/).
func filesConfig(fake, azKey string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
  - model_name: gpt-files
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/dep/v1, api_key: os.environ/FILES_OPENAI_KEY}
files_settings:
  - custom_llm_provider: openai
    api_base: %[1]s/v1
    api_key: os.environ/FILES_OPENAI_KEY
  - custom_llm_provider: azure
    api_base: %[1]s/az
    api_key: %[2]s
    api_version: "2024-10-21"
general_settings:
  master_key: %[3]s
  max_file_size_mb: 1
`, fake, azKey, master)
}

// TestFilesBatchesRoute: LiteLLM's Files and Batches routes through the
// real Envoy with openai-go's Files and Batches clients and a virtual
// key: a JSONL uploaded, retrieved, listed; a batch made of it, retrieved
// (the fake completes it), listed, its output downloaded; another
// cancelled; the file deleted, then a 404 in LiteLLM's words; Azure
// chosen by the custom-llm-provider header, the query and the path; the
// /files and /batches aliases; LiteLLM's upload checks and a wrong key
// refused before the provider; no provider key in any answer.
func TestFilesBatchesRoute(t *testing.T) {
	for _, mode := range []string{"module", "extproc"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("LLMGATE_REQUEST_FILTER", mode)
			testFilesBatchesRoute(t)
		})
	}
}

func testFilesBatchesRoute(t *testing.T) {
	const oaiKey, azKey = "sk-files-oai-secret", "files-az-secret"
	fake := fakeprovider.StartT(t, fakeprovider.Options{APIKeys: []string{oaiKey, azKey}})
	g := startGateway(t, filesConfig(fake.URL(), azKey), "FILES_OPENAI_KEY="+oaiKey)
	key, _ := keyAPI{t, g}.generate(`{}`)
	ctx := context.Background()

	var lastHeaders http.Header
	var lastBody []byte
	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			resp, err := next(r)
			if resp != nil {
				lastHeaders = resp.Header
				if r.URL.Path != "" && !strings.HasSuffix(r.URL.Path, "/content") {
					lastBody, _ = io.ReadAll(resp.Body)
					resp.Body = io.NopCloser(bytes.NewReader(lastBody))
				}
			}
			return resp, err
		}))
	noLeak := func(what string) {
		t.Helper()
		for name, vs := range lastHeaders {
			if strings.HasPrefix(strings.ToLower(name), "x-llmgate") {
				t.Errorf("%s: internal header %s reached the client", what, name)
			}
			for _, v := range vs {
				if strings.Contains(v, oaiKey) || strings.Contains(v, azKey) {
					t.Errorf("%s: a provider key reached the client in %s", what, name)
				}
			}
		}
		if bytes.Contains(lastBody, []byte(oaiKey)) || bytes.Contains(lastBody, []byte(azKey)) {
			t.Errorf("%s: a provider key reached the client in the body", what)
		}
	}
	lastReq := func(t *testing.T) fakeprovider.Recorded {
		t.Helper()
		r, ok := fake.Last()
		if !ok {
			t.Fatal("the fake got no request")
		}
		return r
	}
	apiErr := func(t *testing.T, err error, status int) *openai.Error {
		t.Helper()
		var ae *openai.Error
		if !errors.As(err, &ae) || ae.StatusCode != status {
			t.Fatalf("want a %d API error, got %v", status, err)
		}
		return ae
	}

	jsonl := `{"custom_id":"r1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}}
{"custom_id":"r2","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o","messages":[{"role":"user","content":"yo"}]}}
`
	// Upload.
	f, err := client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(jsonl), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatalf("Files.New: %v", err)
	}
	noLeak("Files.New")
	if !strings.HasPrefix(f.ID, "file-") || f.Filename != "in.jsonl" || f.Purpose != "batch" || f.Bytes != int64(len(jsonl)) {
		t.Errorf("file = %+v", f)
	}
	up := lastReq(t)
	if up.Method != "POST" || up.Path != "/v1/files" || up.Header.Get("Authorization") != "Bearer "+oaiKey {
		t.Errorf("the provider got %s %s auth %q", up.Method, up.Path, up.Header.Get("Authorization"))
	}
	if fields := formFields(t, up); fields["purpose"] != "batch" || fields["file"] != jsonl || fields["file.name"] != "in.jsonl" || len(fields) != 3 {
		t.Errorf("the provider's form = %v", fields)
	}

	// Retrieve and list.
	got, err := client.Files.Get(ctx, f.ID)
	if err != nil || got.ID != f.ID || got.Filename != "in.jsonl" {
		t.Fatalf("Files.Get = %+v, %v", got, err)
	}
	if r := lastReq(t); r.Method != "GET" || r.Path != "/v1/files/"+f.ID {
		t.Errorf("the provider got %s %s", r.Method, r.Path)
	}
	page, err := client.Files.List(ctx, openai.FileListParams{Purpose: openai.String("batch")})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != f.ID {
		t.Fatalf("Files.List = %+v, %v", page, err)
	}
	if r := lastReq(t); r.Path != "/v1/files" || r.Query != "purpose=batch" {
		t.Errorf("the provider got %s?%s", r.Path, r.Query)
	}

	// A batch: made, retrieved (the fake completes it), its output read.
	b, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h, Metadata: map[string]string{"job": "nightly"}})
	if err != nil {
		t.Fatalf("Batches.New: %v", err)
	}
	noLeak("Batches.New")
	if b.Status != openai.BatchStatusValidating || b.InputFileID != f.ID || b.Metadata["job"] != "nightly" {
		t.Errorf("batch = %+v", b)
	}
	var sent map[string]any
	if err := lastReq(t).JSON(&sent); err != nil || sent["input_file_id"] != f.ID || sent["endpoint"] != "/v1/chat/completions" || sent["completion_window"] != "24h" {
		t.Errorf("the provider's batch body = %v (%v)", sent, err)
	}
	b, err = client.Batches.Get(ctx, b.ID)
	if err != nil || b.Status != openai.BatchStatusCompleted || b.OutputFileID == "" || b.RequestCounts.Total != 2 {
		t.Fatalf("Batches.Get = %+v, %v", b, err)
	}
	resp, err := client.Files.Content(ctx, b.OutputFileID)
	if err != nil {
		t.Fatalf("Files.Content: %v", err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"custom_id":"r1"`) || !strings.Contains(lines[1], "fake batch response to: r2") {
		t.Errorf("output file = %q", out)
	}
	if r := lastReq(t); r.Path != "/v1/files/"+b.OutputFileID+"/content" {
		t.Errorf("the provider got %s", r.Path)
	}
	bl, err := client.Batches.List(ctx, openai.BatchListParams{Limit: openai.Int(5)})
	if err != nil || len(bl.Data) != 1 || bl.Data[0].ID != b.ID {
		t.Fatalf("Batches.List = %+v, %v", bl, err)
	}
	if r := lastReq(t); r.Path != "/v1/batches" || r.Query != "limit=5" {
		t.Errorf("the provider got %s?%s", r.Path, r.Query)
	}

	// Cancel: a new batch is cancelling; the completed one is the
	// provider's 409, passed on in LiteLLM's words.
	b2, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Batches.Cancel(ctx, b2.ID)
	if err != nil || c.Status != openai.BatchStatusCancelling {
		t.Fatalf("Batches.Cancel = %+v, %v", c, err)
	}
	if r := lastReq(t); r.Method != "POST" || r.Path != "/v1/batches/"+b2.ID+"/cancel" {
		t.Errorf("the provider got %s %s", r.Method, r.Path)
	}
	_, err = client.Batches.Cancel(ctx, b.ID)
	ae := apiErr(t, err, 409)
	if want := "Error code: 409 - {'error': {'message': \"Cannot cancel a batch with status 'completed'.\", 'type': 'invalid_request_error', 'param': None, 'code': None}}"; ae.Message != want {
		t.Errorf("cancel of a completed batch: %q, want %q", ae.Message, want)
	}

	// Delete, then the provider's 404.
	del, err := client.Files.Delete(ctx, f.ID)
	if err != nil || !del.Deleted || del.ID != f.ID {
		t.Fatalf("Files.Delete = %+v, %v", del, err)
	}
	if r := lastReq(t); r.Method != "DELETE" || r.Path != "/v1/files/"+f.ID {
		t.Errorf("the provider got %s %s", r.Method, r.Path)
	}
	_, err = client.Files.Get(ctx, f.ID)
	ae = apiErr(t, err, 404)
	if want := "Error code: 404 - {'error': {'message': 'No such File object: " + f.ID + "', 'type': 'invalid_request_error', 'param': 'id', 'code': None}}"; ae.Message != want || ae.Param != "id" || ae.Type != "invalid_request_error" {
		t.Errorf("missing file: %q param %q type %q", ae.Message, ae.Param, ae.Type)
	}
	noLeak("Files.Get of a deleted file")

	// Azure: by the custom-llm-provider header, the query, the path.
	af, err := client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader("hello"), "notes.txt", "text/plain"), Purpose: openai.FilePurposeAssistants},
		option.WithHeader("custom-llm-provider", "azure"))
	if err != nil {
		t.Fatalf("Files.New (azure): %v", err)
	}
	noLeak("Files.New (azure)")
	if r := lastReq(t); r.Path != "/az/openai/files" || r.Query != "api-version=2024-10-21" || r.Header.Get("Api-Key") != azKey || r.Header.Get("Authorization") != "" {
		t.Errorf("the azure provider got %s?%s api-key %q auth %q", r.Path, r.Query, r.Header.Get("Api-Key"), r.Header.Get("Authorization"))
	}
	ap, err := client.Files.List(ctx, openai.FileListParams{}, option.WithQuery("custom_llm_provider", "azure"))
	if err != nil || len(ap.Data) == 0 {
		t.Fatalf("Files.List (azure) = %+v, %v", ap, err)
	}
	if r := lastReq(t); r.Path != "/az/openai/files" {
		t.Errorf("the azure list went to %s", r.Path)
	}
	st, body := rawCall(t, "GET", g.URL+"/azure/v1/files/"+af.ID, key, "", nil)
	if st != 200 || !strings.Contains(body, af.ID) {
		t.Errorf("/azure/v1/files/{id}: %d %s", st, body)
	}
	if r := lastReq(t); r.Path != "/az/openai/files/"+af.ID {
		t.Errorf("/azure/v1/files/{id} went to %s", r.Path)
	}

	// LiteLLM's aliases without /v1.
	if st, body := rawCall(t, "GET", g.URL+"/files/"+af.ID+"?custom_llm_provider=azure", master, "", nil); st != 200 || !strings.Contains(body, af.ID) {
		t.Errorf("/files/{id}: %d %s", st, body)
	}
	if st, body := rawCall(t, "GET", g.URL+"/batches", master, "", nil); st != 200 || !strings.Contains(body, b.ID) {
		t.Errorf("/batches: %d %s", st, body)
	}

	// LiteLLM's routing by model: the x-litellm-model header on the
	// upload, then ids that carry the model lead every later call to the
	// gpt-files deployment (its api_base and key), with the provider's ids.
	mf, err := client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(jsonl), "m.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch},
		option.WithHeader("x-litellm-model", "gpt-files"))
	if err != nil {
		t.Fatalf("Files.New by model: %v", err)
	}
	noLeak("Files.New by model")
	r := lastReq(t)
	orig, model, ok := filesapi.DecodeID(mf.ID)
	if !ok || model != "gpt-files" || !strings.HasPrefix(mf.ID, "file-") || r.Path != "/dep/v1/files" || r.Header.Get("Authorization") != "Bearer "+oaiKey {
		t.Fatalf("by model: id %s (%s %s %v), the provider got %s", mf.ID, orig, model, ok, r.Path)
	}
	mb, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: mf.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatalf("Batches.New by model: %v", err)
	}
	sent = nil
	if r := lastReq(t); r.Path != "/dep/v1/batches" || r.JSON(&sent) != nil || sent["input_file_id"] != orig {
		t.Errorf("batch by model: the provider got %s %v", r.Path, sent)
	}
	borig, bmodel, ok := filesapi.DecodeID(mb.ID)
	if !ok || bmodel != "gpt-files" || !strings.HasPrefix(mb.ID, "batch_") || mb.InputFileID != mf.ID {
		t.Errorf("batch by model: %+v", mb)
	}
	mb, err = client.Batches.Get(ctx, mb.ID)
	if err != nil || mb.Status != openai.BatchStatusCompleted {
		t.Fatalf("Batches.Get by model: %+v %v", mb, err)
	}
	if r := lastReq(t); r.Path != "/dep/v1/batches/"+borig {
		t.Errorf("Batches.Get by model went to %s", r.Path)
	}
	oorig, _, ok := filesapi.DecodeID(mb.OutputFileID)
	if !ok {
		t.Fatalf("output file id %q carries no model", mb.OutputFileID)
	}
	resp, err = client.Files.Content(ctx, mb.OutputFileID)
	if err != nil {
		t.Fatalf("Files.Content by model: %v", err)
	}
	out, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if r := lastReq(t); r.Path != "/dep/v1/files/"+oorig+"/content" || !strings.Contains(string(out), `"custom_id":"r2"`) {
		t.Errorf("content by model: %s %q", r.Path, out)
	}
	if g, err := client.Files.Get(ctx, mf.ID); err != nil || g.ID != mf.ID {
		t.Errorf("Files.Get by model: %+v %v", g, err)
	}
	before := len(fake.Requests())
	other, _ := keyAPI{t, g}.generate(`{"models":["m"]}`)
	oc := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(other), option.WithMaxRetries(0))
	_, err = oc.Files.Get(ctx, mf.ID)
	if ae := apiErr(t, err, 401); !strings.Contains(ae.Message, "API Key not allowed to access model") {
		t.Errorf("a key without gpt-files: %q", ae.Message)
	}
	_, err = client.Files.List(ctx, openai.FileListParams{}, option.WithHeader("x-litellm-model", "nope"))
	if ae := apiErr(t, err, 400); ae.Message != "{'error': 'file operation: Invalid model name passed in model=nope. Call `/v1/models` to view available models for your key.'}" {
		t.Errorf("an unknown model: %q", ae.Message)
	}
	if n := len(fake.Requests()); n != before {
		t.Errorf("%d refused requests by model reached the provider", n-before)
	}

	// Refused before the provider: a wrong key, a batch file that is not
	// .jsonl, one with a line missing its url, a file over max_file_size_mb.
	before = len(fake.Requests())
	bad := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey("sk-wrong"), option.WithMaxRetries(0))
	_, err = bad.Files.List(ctx, openai.FileListParams{})
	apiErr(t, err, 401)
	_, err = bad.Batches.Get(ctx, b.ID)
	apiErr(t, err, 401)
	_, err = client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(jsonl), "in.json", "application/json"), Purpose: openai.FilePurposeBatch})
	if ae := apiErr(t, err, 400); ae.Message != "Invalid file format for Batch API: 'in.json'. Batch input files must be .jsonl files. The file was not forwarded to the provider." || ae.Param != "file" {
		t.Errorf("a .json batch file: %q param %q", ae.Message, ae.Param)
	}
	_, err = client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(`{"custom_id":"a","method":"POST","body":{}}`), "x.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if ae := apiErr(t, err, 400); !strings.HasPrefix(ae.Message, "Missing required parameter: 'url' (batch input file line 1).") || ae.Param != "url" {
		t.Errorf("a line without url: %q param %q", ae.Message, ae.Param)
	}
	_, err = client.Files.New(ctx, openai.FileNewParams{File: openai.File(bytes.NewReader(make([]byte, 1<<20+10)), "big.bin", "application/octet-stream"), Purpose: openai.FilePurposeUserData})
	if ae := apiErr(t, err, 413); !strings.HasPrefix(ae.Message, "Uploaded file exceeds the configured max_file_size_mb of 1 MB") {
		t.Errorf("a file over max_file_size_mb: %q", ae.Message)
	}
	if n := len(fake.Requests()); n != before {
		t.Errorf("%d refused requests reached the provider", n-before)
	}
}

// formFields reads a recorded multipart body: each field's value, the
// file's content as "file" and its name as "file.name".
func formFields(t *testing.T, r fakeprovider.Recorded) map[string]string {
	t.Helper()
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content-type %q: %v", r.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		out[p.FormName()] = string(b)
		if p.FileName() != "" {
			out[p.FormName()+".name"] = p.FileName()
		}
	}
	return out
}

// rawCall sends one request with a bearer key; the answer's status and body.
func rawCall(t *testing.T, method, url, key, contentType string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v any
	if json.Unmarshal(b, &v) != nil && resp.StatusCode >= 400 {
		t.Errorf("%s %s: a non-JSON error body %q", method, url, b)
	}
	return resp.StatusCode, string(b)
}
