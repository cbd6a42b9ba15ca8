package translator

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// The routes after embeddings (D130): moderations, image generations,
// speech, transcriptions and rerank. Their bodies pass through to an
// OpenAI-compatible or Azure deployment with the model replaced (a
// transcription's multipart form too); what LiteLLM prices them by is read
// here (Units).

// IsRoute reports whether ep is one of LiteLLM's other OpenAI routes (D130), whose
// answers are not chat-like (no restamped model, no usage chunk).
func IsRoute(ep Endpoint) bool { return ep >= Moderations && ep <= Rerank || ep == ImageEdits }

// IsForm reports whether ep's request is a multipart/form-data body
// (transcriptions, image edits) rather than JSON.
func IsForm(ep Endpoint) bool { return ep == AudioTranscriptions || ep == ImageEdits }

// FormMaxField bounds a form field the gateway reads (model, stream).
const FormMaxField = 1024

// FormBoundary is the boundary of a multipart/form-data content type; ok
// false when contentType is not one.
func FormBoundary(contentType string) (string, bool) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", false
	}
	return params["boundary"], true
}

// FormFields reads the named plain fields of a multipart/form-data body
// (each at most FormMaxField bytes; file parts are skipped).
func FormFields(body []byte, contentType string, names ...string) (map[string]string, error) {
	b, ok := FormBoundary(contentType)
	if !ok {
		return nil, errors.New("the request is not multipart/form-data")
	}
	out := make(map[string]string, len(names))
	r := multipart.NewReader(bytes.NewReader(body), b)
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		name := p.FormName()
		if p.FileName() == "" && contains(names, name) {
			v, err := io.ReadAll(io.LimitReader(p, FormMaxField+1))
			if err != nil {
				return nil, err
			}
			if len(v) > FormMaxField {
				return nil, errors.New("form field " + name + " is too long")
			}
			out[name] = string(v)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// setFormField rewrites a multipart/form-data body with the field name set
// to value (added when absent) and the fields drop names removed; the
// boundary, the other parts and their order are kept.
func setFormField(body []byte, contentType, name, value string, drop func(string) bool) ([]byte, error) {
	return rewriteForm(body, contentType, name, value, drop, nil)
}

// rewriteForm is setFormField with the parts' form names changed by rename
// (nil: kept) and, with name "", no field set.
func rewriteForm(body []byte, contentType, name, value string, drop func(string) bool, rename func(string) string) ([]byte, error) {
	b, ok := FormBoundary(contentType)
	if !ok {
		return nil, NewError(400, "invalid_request_error", "the request is not multipart/form-data", "")
	}
	var out bytes.Buffer
	out.Grow(len(body) + len(value))
	w := multipart.NewWriter(&out)
	if err := w.SetBoundary(b); err != nil {
		return nil, NewError(400, "invalid_request_error", "multipart boundary: "+err.Error(), "")
	}
	r := multipart.NewReader(bytes.NewReader(body), b)
	set := false
	for {
		p, err := r.NextRawPart() // (bytes as sent: no transfer decoding)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, NewError(400, "invalid_request_error", "cannot read the multipart body: "+err.Error(), "")
		}
		fn := p.FormName()
		if p.FileName() == "" && fn != name && drop(fn) {
			continue
		}
		hdr := textproto.MIMEHeader(p.Header)
		if rename != nil {
			if to := rename(fn); to != fn {
				hdr = renamePart(hdr, to, p.FileName())
			}
		}
		pw, err := w.CreatePart(hdr)
		if err != nil {
			return nil, err
		}
		if name != "" && fn == name && p.FileName() == "" {
			set = true
			_, err = io.WriteString(pw, value)
		} else {
			_, err = io.Copy(pw, p)
		}
		if err != nil {
			return nil, NewError(400, "invalid_request_error", "cannot read the multipart body: "+err.Error(), "")
		}
	}
	if !set && name != "" {
		if err := w.WriteField(name, value); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// FormFileSize is the size of the first file part of a multipart body (0
// when none).
func FormFileSize(body []byte, contentType string) int { return len(formFile(body, contentType)) }

// formFile is the content of the first file part of a multipart body (nil
// when none).
func formFile(body []byte, contentType string) []byte {
	b, ok := FormBoundary(contentType)
	if !ok {
		return nil
	}
	r := multipart.NewReader(bytes.NewReader(body), b)
	for {
		p, err := r.NextRawPart()
		if err != nil {
			return nil
		}
		if p.FileName() != "" {
			f, _ := io.ReadAll(p)
			return f
		}
	}
}

// WAVSeconds is the duration of a RIFF/WAVE file from its header (its data
// chunk's size over its byte rate); 0 when f is not one.
func WAVSeconds(f []byte) float64 {
	if len(f) < 12 || string(f[0:4]) != "RIFF" || string(f[8:12]) != "WAVE" {
		return 0
	}
	var byteRate uint32
	for i := 12; i+8 <= len(f); {
		id, size := string(f[i:i+4]), binary.LittleEndian.Uint32(f[i+4:i+8])
		body := i + 8
		switch id {
		case "fmt ":
			if body+12 <= len(f) {
				byteRate = binary.LittleEndian.Uint32(f[body+8 : body+12])
			}
		case "data":
			if byteRate == 0 {
				return 0
			}
			n := uint64(size)
			if rest := uint64(len(f) - body); n > rest {
				n = rest // a truncated or streamed file: what is there
			}
			return float64(n) / float64(byteRate)
		}
		next := uint64(body) + uint64(size) + uint64(size&1)
		if next > uint64(len(f)) {
			return 0
		}
		i = int(next)
	}
	return 0
}

// RequestUnits are the priced quantities a route's request itself fixes:
// a speech input's characters (LiteLLM's count_characters: whitespace not
// counted), an image request's pixels per image, a transcription's audio
// length read from a WAV file (LiteLLM measures the file).
func RequestUnits(ep Endpoint, body []byte, contentType string) Units {
	var u Units
	switch ep {
	case AudioSpeech:
		in := gjson.GetBytes(body, "input").String()
		for _, r := range in {
			if r != utf8.RuneError && !unicode.IsSpace(r) {
				u.Characters++
			}
		}
	case ImageGenerations:
		u.Pixels = imagePixels(gjson.GetBytes(body, "size").String())
	case AudioTranscriptions:
		u.AudioSeconds = WAVSeconds(formFile(body, contentType))
	case ImageEdits:
		f, _ := FormFields(body, contentType, "size")
		u.Pixels = imagePixels(f["size"])
	}
	return u
}

// imagePixels is the pixels of an image of size "WxH" (OpenAI's default
// 1024x1024 when empty or auto, as LiteLLM assumes it).
func imagePixels(size string) int64 {
	if size == "" || size == "auto" {
		size = "1024x1024"
	}
	if w, h, ok := strings.Cut(size, "x"); ok {
		return atoi64(w) * atoi64(h)
	}
	return 0
}

func atoi64(s string) int64 {
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' || n > 1<<20 {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// routeUsage reads what an OpenAI-format answer of a route is priced by:
// the images generated (and gpt-image's token usage), a transcription's
// token usage or billed seconds (usage.type "duration", else verbose_json's
// duration), a rerank's search units (Cohere's meta.billed_units; 1 when
// absent, as LiteLLM counts a call) and any token usage (Jina's).
func routeUsage(ep Endpoint, body []byte) Usage {
	var u Usage
	switch ep {
	case ImageGenerations, ImageEdits:
		u.Units.Images = int(gjson.GetBytes(body, "data.#").Int())
		u.PromptTokens = int(gjson.GetBytes(body, "usage.input_tokens").Int())
		u.CompletionTokens = int(gjson.GetBytes(body, "usage.output_tokens").Int())
	case AudioTranscriptions:
		us := gjson.GetBytes(body, "usage")
		switch us.Get("type").String() {
		case "tokens":
			u.PromptTokens, u.CompletionTokens = int(us.Get("input_tokens").Int()), int(us.Get("output_tokens").Int())
		case "duration":
			u.Units.AudioSeconds = us.Get("seconds").Float()
		}
		if u.Units.AudioSeconds == 0 && u.PromptTokens == 0 {
			u.Units.AudioSeconds = gjson.GetBytes(body, "duration").Float()
		}
	case Rerank:
		u.Units.SearchUnits = int(gjson.GetBytes(body, "meta.billed_units.search_units").Int())
		if u.Units.SearchUnits == 0 {
			u.Units.SearchUnits = 1
		}
		u.PromptTokens = int(gjson.GetBytes(body, "usage.total_tokens").Int())
	case Moderations:
		// Free at OpenAI; its usage when a provider sends one.
		u.PromptTokens = int(gjson.GetBytes(body, "usage.prompt_tokens").Int())
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

// formDropped is whether a transcription's provider does not get a form
// field: LiteLLM's own, the deployment's additional_drop_params.
func formDropped(t Target) func(string) bool {
	return func(f string) bool { return IsLiteLLMOnly(f) || contains(t.AdditionalDropParams, f) }
}

// rerankBody is a Cohere rerank request for the deployment: its model set,
// LiteLLM's own fields and the dropped params removed.
func rerankBody(body []byte, t Target) ([]byte, error) {
	return openAI{}.body(Rerank, body, t)
}

// renamePart is a part header with its form name changed to name.
func renamePart(h textproto.MIMEHeader, name, filename string) textproto.MIMEHeader {
	out := make(textproto.MIMEHeader, len(h))
	for k, v := range h {
		out[k] = v
	}
	params := map[string]string{"name": name}
	if filename != "" {
		params["filename"] = filename
	}
	out.Set("Content-Disposition", mime.FormatMediaType("form-data", params))
	return out
}

// imageEditForm is an image edit's form for the deployment, as LiteLLM's
// OpenAIImageEditConfig writes it: the images as image[] parts, one mask
// as mask, the model set (left out on an Azure deployment path, LiteLLM's
// azure_deployment_image_edit_form_data), LiteLLM's own fields and the
// dropped params removed.
func imageEditForm(body []byte, t Target, azure bool) ([]byte, error) {
	rename := func(n string) string {
		switch n {
		case "image":
			return "image[]"
		case "mask[]":
			return "mask"
		}
		return n
	}
	drop := formDropped(t)
	if azure {
		return rewriteForm(body, t.ContentType, "", "", func(f string) bool { return f == "model" || drop(f) }, rename)
	}
	return rewriteForm(body, t.ContentType, "model", t.Model, drop, rename)
}
