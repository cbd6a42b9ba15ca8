package translator

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
)

// TestImageEditForm: an image edit's form as LiteLLM's OpenAIImageEditConfig
// writes it — image parts as image[], mask[] as mask, the model set (none
// on an Azure deployment path), LiteLLM's own fields dropped — and its
// pixels from the size field (D160).
func TestImageEditForm(t *testing.T) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("model", "edit")
	_ = w.WriteField("prompt", "a hat")
	_ = w.WriteField("size", "512x256")
	_ = w.WriteField("metadata", `{"a":1}`)
	for _, f := range [][2]string{{"image", "one.png"}, {"image[]", "two.png"}, {"mask[]", "m.png"}} {
		fw, _ := w.CreateFormFile(f[0], f[1])
		_, _ = io.WriteString(fw, "PNG "+f[1])
	}
	_ = w.Close()
	ct := w.FormDataContentType()
	parts := func(body []byte) map[string][]string {
		_, params, _ := mime.ParseMediaType(ct)
		out := map[string][]string{}
		r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := r.NextPart()
			if err != nil {
				return out
			}
			v, _ := io.ReadAll(p)
			out[p.FormName()] = append(out[p.FormName()], p.FileName()+"="+string(v))
		}
	}
	up, err := openAI{}.Request(ImageEdits, b.Bytes(), Target{Model: "gpt-image-1", APIBase: "https://api.openai.com/v1", ContentType: ct})
	if err != nil {
		t.Fatal(err)
	}
	got := parts(up.Body)
	if up.Path != "/v1/images/edits" || strings.Join(got["model"], ",") != "=gpt-image-1" || got["metadata"] != nil || got["image"] != nil ||
		strings.Join(got["image[]"], ",") != "one.png=PNG one.png,two.png=PNG two.png" || strings.Join(got["mask"], ",") != "m.png=PNG m.png" {
		t.Fatalf("openai: %s %q", up.Path, got)
	}
	up, err = openAI{azure: true}.Request(ImageEdits, b.Bytes(), Target{Model: "my-edit", APIBase: "https://x.openai.azure.com", APIVersion: "2025-04-01-preview", ContentType: ct})
	if err != nil {
		t.Fatal(err)
	}
	if got := parts(up.Body); up.Path != "/openai/deployments/my-edit/images/edits?api-version=2025-04-01-preview" || got["model"] != nil || len(got["image[]"]) != 2 {
		t.Fatalf("azure: %s %q", up.Path, got)
	}
	if u := RequestUnits(ImageEdits, b.Bytes(), ct); u.Pixels != 512*256 {
		t.Fatalf("pixels %d", u.Pixels)
	}
	if u := routeUsage(ImageEdits, []byte(`{"data":[{"b64_json":"a"},{"b64_json":"b"}]}`)); u.Units.Images != 2 {
		t.Fatalf("images %d", u.Units.Images)
	}
}
