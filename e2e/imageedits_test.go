package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// imageEditsConfig: image edit deployments, OpenAI-compatible (two, priced
// per image) and Azure (priced per pixel), as LiteLLM's model_info prices
// them (D160).
func imageEditsConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: edit
    litellm_params: {model: openai/gpt-image-1, api_base: %[1]s/edit-a/v1, api_key: sk-provider-edit}
    model_info: {mode: image_edit, output_cost_per_image: 0.05}
  - model_name: edit
    litellm_params: {model: openai/gpt-image-1, api_base: %[1]s/edit-b/v1, api_key: sk-provider-edit}
    model_info: {mode: image_edit, output_cost_per_image: 0.05}
  - model_name: edit-azure
    litellm_params: {model: azure/my-edit, api_base: %[1]s/az, api_key: az-provider-key, api_version: "2025-04-01-preview"}
    model_info: {mode: image_edit, input_cost_per_pixel: 0.00000002}
  - model_name: chat
    litellm_params: {model: anthropic/claude-3-haiku, api_base: %[1]s/anth, api_key: sk-provider-anth}
router_settings:
  num_retries: 1
general_settings:
  master_key: %[2]s
  max_request_size_mb: 1
  proxy_batch_write_at: 1
`, fake, master)
}

// formParts are a multipart body's parts: form name → the values (a file
// part's value is its file name).
func formParts(t *testing.T, contentType string, body []byte) map[string][]string {
	t.Helper()
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		t.Fatalf("content-type %q", contentType)
	}
	out := map[string][]string{}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("provider form: %v", err)
		}
		v, _ := io.ReadAll(p)
		if p.FileName() != "" {
			v = []byte("file:" + p.FileName() + ":" + string(v))
		}
		out[p.FormName()] = append(out[p.FormName()], string(v))
	}
}

// TestImageEdits: /v1/images/edits (multipart) through the real Envoy with
// openai-go's Images.Edit, to OpenAI-compatible and Azure deployments,
// priced per image or pixel, retried, with a key's spend (D160).
func TestImageEdits(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, imageEditsConfig(fake.URL()))
	k := keyAPI{t, g}
	key, _ := k.generate(`{"key_alias":"edits-key"}`)
	client := newClient(g, key)
	ctx := context.Background()
	want := 0.0

	t.Run("two images and a mask to OpenAI: image[] parts, the deployment's model, priced per image", func(t *testing.T) {
		fake.Reset()
		var raw *http.Response
		resp, err := client.Images.Edit(ctx, openai.ImageEditParams{Model: "edit", Prompt: "add a hat",
			Image: openai.ImageEditParamsImageUnion{OfFileArray: []io.Reader{
				openai.File(strings.NewReader("PNG-one"), "one.png", "image/png"),
				openai.File(strings.NewReader("PNG-two"), "two.png", "image/png")}},
			Mask: openai.File(strings.NewReader("PNG-mask"), "mask.png", "image/png"),
			N:    openai.Int(2), Size: openai.ImageEditParamsSize1024x1536}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 || !strings.HasPrefix(resp.Data[0].B64JSON, "ZmFrZSBlZGl0") {
			t.Fatalf("answer %+v", resp)
		}
		rec, _ := fake.Last()
		if !strings.HasPrefix(rec.Path, "/edit-") || !strings.HasSuffix(rec.Path, "/v1/images/edits") || rec.Header.Get("Authorization") != "Bearer sk-provider-edit" {
			t.Fatalf("provider request %s %v", rec.Path, rec.Header)
		}
		f := formParts(t, rec.Header.Get("Content-Type"), rec.Body)
		if strings.Join(f["model"], ",") != "gpt-image-1" || strings.Join(f["prompt"], ",") != "add a hat" || len(f["image"]) != 0 ||
			strings.Join(f["image[]"], ",") != "file:one.png:PNG-one,file:two.png:PNG-two" || strings.Join(f["mask"], ",") != "file:mask.png:PNG-mask" {
			t.Fatalf("the provider's form %q", f)
		}
		if c := costHeader(t, raw.Header); !near(c, 2*0.05) {
			t.Fatalf("x-litellm-response-cost %v, want 2 × 0.05", c)
		}
		if raw.Header.Get("x-litellm-model-group") != "edit" {
			t.Fatalf("x-litellm-model-group %q", raw.Header.Get("x-litellm-model-group"))
		}
		want += 0.1
		noSecretsInAnswer(t, raw.Header, nil)
	})

	t.Run("one image (form name image) reaches OpenAI as image[]", func(t *testing.T) {
		fake.Reset()
		resp, err := client.Images.Edit(ctx, openai.ImageEditParams{Model: "edit", Prompt: "bluer",
			Image: openai.ImageEditParamsImageUnion{OfFile: openai.File(strings.NewReader("PNG-x"), "x.png", "image/png")}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 1 {
			t.Fatalf("answer %+v", resp)
		}
		rec, _ := fake.Last()
		if f := formParts(t, rec.Header.Get("Content-Type"), rec.Body); strings.Join(f["image[]"], ",") != "file:x.png:PNG-x" || len(f["image"]) != 0 {
			t.Fatalf("the provider's form %q", f)
		}
		want += 0.05
	})

	t.Run("Azure-style path: the deployment path, api-version, api-key, no model field, priced per pixel", func(t *testing.T) {
		fake.Reset()
		az := openai.NewClient(option.WithBaseURL(g.URL+"/openai/deployments/edit-azure"), option.WithAPIKey(key), option.WithMaxRetries(0),
			option.WithRequestTimeout(30*time.Second))
		var raw *http.Response
		resp, err := az.Images.Edit(ctx, openai.ImageEditParams{Prompt: "a moon", Size: "512x512",
			Image: openai.ImageEditParamsImageUnion{OfFile: openai.File(strings.NewReader("PNG-moon"), "m.png", "image/png")}}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 1 {
			t.Fatalf("answer %+v", resp)
		}
		rec, _ := fake.Last()
		if rec.Path != "/az/openai/deployments/my-edit/images/edits" || rec.Query != "api-version=2025-04-01-preview" ||
			rec.Header.Get("Api-Key") != "az-provider-key" || rec.Header.Get("Authorization") != "" {
			t.Fatalf("provider request %s?%s %v", rec.Path, rec.Query, rec.Header)
		}
		if f := formParts(t, rec.Header.Get("Content-Type"), rec.Body); len(f["model"]) != 0 || strings.Join(f["prompt"], ",") != "a moon" {
			t.Fatalf("the provider's form %q", f)
		}
		if c := costHeader(t, raw.Header); !near(c, 512*512*0.00000002) {
			t.Fatalf("x-litellm-response-cost %v, want 512 × 512 × 2e-8", c)
		}
		want += 512 * 512 * 0.00000002
	})

	t.Run("429 on one deployment, retried on the other", func(t *testing.T) {
		fake.Reset()
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/edit-a"}, Fault: fakeprovider.Fault{Status: 429}}); err != nil {
			t.Fatal(err)
		}
		defer fake.ClearRules()
		tried := func() bool {
			for _, r := range fake.Requests() {
				if r.Path == "/edit-a/v1/images/edits" {
					return true
				}
			}
			return false
		}
		for i := 0; i < 20 && !tried(); i++ {
			if _, err := client.Images.Edit(ctx, openai.ImageEditParams{Model: "edit", Prompt: "again",
				Image: openai.ImageEditParamsImageUnion{OfFile: openai.File(strings.NewReader("PNG"), "r.png", "image/png")}}); err != nil {
				t.Fatal(err)
			}
			want += 0.05
		}
		if !tried() {
			t.Fatal("edit-a was never tried")
		}
		if last, _ := fake.Last(); last.Path != "/edit-b/v1/images/edits" {
			t.Fatalf("the last try went to %s", last.Path)
		}
	})

	t.Run("errors: unknown model 400, a provider without image edits 400, a body too large 413, all in OpenAI's shape", func(t *testing.T) {
		fake.Reset()
		img := openai.ImageEditParamsImageUnion{OfFile: openai.File(strings.NewReader("PNG"), "e.png", "image/png")}
		for _, tc := range []struct {
			model  string
			image  openai.ImageEditParamsImageUnion
			status int
			words  string
		}{
			{"no-such-model", img, 400, "no-such-model"},
			{"chat", img, 400, "image_edit"},
			{"edit", openai.ImageEditParamsImageUnion{OfFile: openai.File(bytes.NewReader(make([]byte, 1100*1024)), "big.png", "image/png")}, 413, ""},
		} {
			_, err := client.Images.Edit(ctx, openai.ImageEditParams{Model: openai.ImageModel(tc.model), Prompt: "x", Image: tc.image})
			var ae *openai.Error
			if !errors.As(err, &ae) || ae.StatusCode != tc.status || !strings.Contains(ae.Message, tc.words) || ae.Message == "" {
				t.Fatalf("%s: error %v", tc.model, err)
			}
		}
		if n := len(fake.Requests()); n != 0 {
			t.Fatalf("%d requests reached the provider", n)
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for !near(k.spend(key), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the key's spend is %v, want %v", k.spend(key), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	noInternalHeaders(t, fake)
}
