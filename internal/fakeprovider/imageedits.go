package fakeprovider

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"
)

// OpenAI's (and Azure's) image edits, /v1/images/edits: a multipart form
// with the images as image[] (or image) file parts, an optional mask, the
// prompt, n, size and response_format; the answer is an images response.

// openAIForm checks the credentials and parses a multipart/form-data
// request body as OpenAI does (its 400s otherwise).
func (c *call) openAIForm() (*multipart.Form, bool) {
	if !c.checkOpenAIAuth() {
		return nil, false
	}
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		c.failOpenAIWith(http.StatusBadRequest, "Invalid Content-Type header ("+c.r.Header.Get("Content-Type")+"), expected multipart/form-data.", "invalid_request_error", nil)
		return nil, false
	}
	form, err := multipart.NewReader(bytes.NewReader(c.body), params["boundary"]).ReadForm(32 << 20)
	if err != nil {
		c.failOpenAIWith(http.StatusBadRequest, "Could not parse multipart form", "invalid_request_error", nil)
		return nil, false
	}
	return form, true
}

// formValue is a form's first value of k ("" when absent).
func formValue(form *multipart.Form, k string) string {
	if v := form.Value[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func handleOpenAIImageEdits(c *call) {
	form, ok := c.openAIForm()
	if !ok {
		return
	}
	defer func() { _ = form.RemoveAll() }()
	if c.provider == providerOpenAI {
		c.model = formValue(form, "model")
	}
	images := append(append([]*multipart.FileHeader{}, form.File["image[]"]...), form.File["image"]...)
	if len(images) == 0 {
		c.failOpenAIWith(http.StatusBadRequest, "Missing required parameter: 'image'.", "invalid_request_error", "missing_required_parameter")
		return
	}
	prompt := formValue(form, "prompt")
	if prompt == "" {
		c.failOpenAIWith(http.StatusBadRequest, "Missing required parameter: 'prompt'.", "invalid_request_error", "missing_required_parameter")
		return
	}
	n := 1
	if v := formValue(form, "n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 10 {
			c.failOpenAIWith(http.StatusBadRequest, "Invalid 'n': integer above maximum value.", "invalid_request_error", "integer_above_max_value")
			return
		}
	}
	var size int64
	for _, fh := range images {
		f, err := fh.Open()
		if err != nil {
			c.failOpenAIWith(http.StatusBadRequest, "Could not read the image", "invalid_request_error", nil)
			return
		}
		k, _ := io.Copy(io.Discard, f)
		_ = f.Close()
		size += k
	}
	if !c.begin() {
		return
	}
	data := make([]map[string]any, n)
	for i := range data {
		if formValue(form, "response_format") == "url" {
			data[i] = map[string]any{"url": "https://images.fake.test/" + newID("edit-") + ".png"}
		} else {
			// gpt-image models answer base64 images (and token usage).
			data[i] = map[string]any{"b64_json": base64.StdEncoding.EncodeToString([]byte("fake edit " + strconv.Itoa(i) + " of " + strconv.Itoa(len(images)) + " images (" + strconv.FormatInt(size, 10) + " bytes): " + prompt))}
		}
	}
	c.json(http.StatusOK, map[string]any{"created": time.Now().Unix(), "data": data})
}
