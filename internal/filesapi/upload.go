package filesapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/llmgate/llmgate/translator"
)

// mb is LiteLLM's MB (MiB).
const mb = 1 << 20

// Upload is a POST /v1/files multipart body, read.
type Upload struct {
	Purpose  string
	Provider string // the custom_llm_provider form field
	// Model is the model form field (LiteLLM's model-based routing).
	Model string
	// TargetModelNames is the target_model_names form field (managed files).
	TargetModelNames string
	Filename         string
	ContentType      string
	File             []byte
	HasFile          bool
	// ExpiresAnchor and ExpiresSeconds are expires_after[anchor] and
	// expires_after[seconds] (nil: not sent).
	ExpiresAnchor, ExpiresSeconds *string
}

// maxFormParts bounds the parts of an upload read.
const maxFormParts = 64

// ParseUpload reads a multipart/form-data body (FastAPI's 422 for another
// content type or a missing field is LiteLLM's; here a 400 says which).
func ParseUpload(contentType string, body []byte) (*Upload, *translator.Error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, translator.NewError(400, "invalid_request_error", "POST /v1/files takes a multipart/form-data body with purpose and file", "file")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	u := &Upload{}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil || n >= maxFormParts {
			return nil, translator.NewError(400, "invalid_request_error", "There was an error parsing the body", "")
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, translator.NewError(400, "invalid_request_error", "There was an error parsing the body", "")
		}
		v := string(b)
		switch part.FormName() {
		case "purpose":
			u.Purpose = v
		case "custom_llm_provider":
			u.Provider = v
		case "model":
			u.Model = v
		case "target_model_names":
			u.TargetModelNames = v
		case "expires_after[anchor]":
			u.ExpiresAnchor = &v
		case "expires_after[seconds]":
			u.ExpiresSeconds = &v
		case "file":
			u.Filename, u.File, u.HasFile = part.FileName(), b, true
			u.ContentType = part.Header.Get("Content-Type")
		}
	}
	if u.Purpose == "" || !u.HasFile {
		missing := "purpose"
		if u.Purpose != "" {
			missing = "file"
		}
		return nil, translator.NewError(422, "invalid_request_error", "Field required: "+missing, missing)
	}
	return u, nil
}

// purposes is LiteLLM's OpenAIFilesPurpose, in its order.
var purposes = []string{"assistants", "assistants_output", "batch", "batch_output", "fine-tune", "fine-tune-results",
	"vision", "user_data", "evals", "messages"}

// Check is LiteLLM's create_file checks of an upload before it is
// forwarded, in its order: an unsafe filename, the purpose, the size
// (general_settings max_file_size_mb, 0: none), a batch file's shape
// (.jsonl, max_batch_file_size_mb, each line a request), expires_after.
func (u *Upload) Check(maxFileSizeMB, maxBatchFileSizeMB int) *translator.Error {
	if f := u.Filename; strings.Contains(f, "\x00") || hasDotDot(f) {
		return fileError(400, fmt.Sprintf("Filename '%s' is not allowed: directory traversal sequences are not permitted in uploaded file names. The file was not forwarded to the provider.", f))
	}
	valid := false
	for _, p := range purposes {
		valid = valid || p == u.Purpose
	}
	if !valid {
		q := make([]string, len(purposes))
		for i, p := range purposes {
			q[i] = "'" + p + "'"
		}
		return translator.NewError(400, "invalid_request_error", fmt.Sprintf("Invalid purpose: %s. Must be one of: (%s)", u.Purpose, strings.Join(q, ", ")), "purpose")
	}
	if maxFileSizeMB > 0 && len(u.File) > maxFileSizeMB*mb {
		return translator.NewError(413, "invalid_request_error", fmt.Sprintf("Uploaded file exceeds the configured max_file_size_mb of %d MB (read stopped at %.1f MB). The file was not forwarded to the provider.",
			maxFileSizeMB, float64(min(len(u.File), maxFileSizeMB*mb+1))/mb), "file")
	}
	if u.Purpose == "batch" {
		if e := checkBatchFile(u.Filename, u.File, maxBatchFileSizeMB); e != nil {
			return e
		}
	}
	if u.ExpiresAnchor != nil || u.ExpiresSeconds != nil {
		if u.ExpiresAnchor == nil || u.ExpiresSeconds == nil {
			return detailError("Both expires_after[anchor] and expires_after[seconds] must be provided if expires_after is specified")
		}
		if *u.ExpiresAnchor != "created_at" {
			return detailError(fmt.Sprintf("expires_after[anchor] must be 'created_at', got '%s'", *u.ExpiresAnchor))
		}
		if _, err := strconv.Atoi(*u.ExpiresSeconds); err != nil {
			return detailError(fmt.Sprintf("expires_after[seconds] must be a valid integer, got '%s': invalid literal for int() with base 10: '%s'", *u.ExpiresSeconds, *u.ExpiresSeconds))
		}
	}
	return nil
}

func hasDotDot(name string) bool {
	for _, part := range strings.Split(strings.ReplaceAll(name, `\`, "/"), "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

func fileError(status int, msg string) *translator.Error {
	return translator.NewError(status, "invalid_request_error", msg, "file")
}

// detailError is LiteLLM's HTTPException(400, detail={"error": msg}) as
// its proxy answers it: the detail dict as Python prints it.
func detailError(msg string) *translator.Error {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return translator.NewError(400, "invalid_request_error", reprOf(b), "")
}

// checkBatchFile is LiteLLM's check_batch_file_upload.
func checkBatchFile(filename string, content []byte, maxMB int) *translator.Error {
	if !strings.HasSuffix(strings.ToLower(filename), ".jsonl") {
		return fileError(400, fmt.Sprintf("Invalid file format for Batch API: '%s'. Batch input files must be .jsonl files. The file was not forwarded to the provider.", filename))
	}
	if maxMB > 0 && len(content) > maxMB*mb {
		return fileError(413, fmt.Sprintf("Batch input file is %.1f MB, which exceeds the configured max_batch_file_size_mb of %d MB. The file was not forwarded to the provider.", float64(len(content))/mb, maxMB))
	}
	records := 0
	for i, line := range splitLines(content) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		records++
		n := i + 1
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(line, &obj); err != nil {
			var any_ any
			if json.Unmarshal(line, &any_) == nil {
				return fileError(400, fmt.Sprintf("Batch input file line %d must be a JSON object. The file was not forwarded to the provider.", n))
			}
			return fileError(400, fmt.Sprintf("Batch input file line %d is not valid JSON. The file was not forwarded to the provider.", n))
		}
		if obj == nil {
			return fileError(400, fmt.Sprintf("Batch input file line %d must be a JSON object. The file was not forwarded to the provider.", n))
		}
		for _, k := range []string{"custom_id", "method", "url", "body"} {
			if _, ok := obj[k]; !ok {
				return translator.NewError(400, "invalid_request_error", fmt.Sprintf("Missing required parameter: '%s' (batch input file line %d). Each line must be a JSON object with keys custom_id, method, url, body. The file was not forwarded to the provider.", k, n), k)
			}
		}
	}
	if records == 0 {
		return fileError(400, "Batch input file has no request lines. The file was not forwarded to the provider.")
	}
	return nil
}

// splitLines is Python's bytes.splitlines for the line ends a JSONL file
// has (\n, \r\n, \r).
func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i])
		if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			i++
		}
		b = b[i+1:]
	}
	return out
}

// Form is the multipart body the provider gets: purpose, expires_after
// and the file, as the OpenAI SDK writes it.
func (u *Upload) Form() (contentType string, body []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("purpose", u.Purpose)
	if u.ExpiresAnchor != nil && u.ExpiresSeconds != nil {
		_ = w.WriteField("expires_after[anchor]", *u.ExpiresAnchor)
		_ = w.WriteField("expires_after[seconds]", *u.ExpiresSeconds)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, u.Filename))
	ct := u.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	pw, _ := w.CreatePart(h)
	_, _ = pw.Write(u.File)
	_ = w.Close()
	return w.FormDataContentType(), buf.Bytes()
}
