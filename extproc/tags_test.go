package extproc

import (
	"slices"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/config"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// TestRequestTags (D84): a request's own tags on its context, in LiteLLM's
// order — body metadata.tags, then the x-litellm-tags header (before the
// key's), the body's tags after — deduplicated, bounded in count and length,
// header bytes made UTF-8 (the context must encode), only for a request whose
// spend is logged; the deployment's tags follow the late ones on the outcome.
func TestRequestTags(t *testing.T) {
	st := &State{userAgentTags: true}
	read := func(body string, h map[string]string, key string) *llmgatev1.RequestContext {
		t.Helper()
		var f requestFields
		if e := readFields([]byte(body), &f); e != nil {
			t.Fatalf("%s: %v", body, e)
		}
		ctx := &llmgatev1.RequestContext{KeyHash: key, EndUser: f.User}
		st.setRequestTags(ctx, &f, h)
		if _, err := encodeContext(ctx); err != nil {
			t.Fatalf("%s: context not encoded: %v", body, err)
		}
		return ctx
	}
	h := map[string]string{"x-litellm-tags": " hdr-a, meta-a ,,hdr-b", "user-agent": "OpenAI/Go 1.8.2"}
	for _, body := range []string{
		`{"model":"m","metadata":{"tags":["meta-a","meta-b",3,"meta-a"]},"tags":["root-a","hdr-a"]}`,
		// The same through encoding/json (an escaped key leaves the fast reader).
		`{"model":"m","metadata":{"tags":["meta-a","meta-b",3,"meta-a"]},"\u0074ags":["root-a","hdr-a"]}`,
	} {
		ctx := read(body, h, "k1")
		if want := []string{"meta-a", "meta-b", "hdr-a", "hdr-b"}; !slices.Equal(ctx.Tags, want) {
			t.Errorf("%s: early tags %q, want %q", body, ctx.Tags, want)
		}
		if want := []string{"root-a", "hdr-a"}; !slices.Equal(ctx.LateTags, want) {
			t.Errorf("%s: late tags %q, want %q", body, ctx.LateTags, want)
		}
		if ctx.UserAgent != "OpenAI/Go 1.8.2" {
			t.Errorf("user agent %q", ctx.UserAgent)
		}
	}
	// Not lists: nothing; a request whose spend is not logged: nothing.
	if ctx := read(`{"model":"m","metadata":{"tags":"x"},"tags":{"a":1}}`, nil, "k1"); len(ctx.Tags)+len(ctx.LateTags) != 0 {
		t.Errorf("tags that are not lists: %q %q", ctx.Tags, ctx.LateTags)
	}
	if ctx := read(`{"model":"m","tags":["a"]}`, h, ""); len(ctx.Tags)+len(ctx.LateTags) != 0 || ctx.UserAgent != "" {
		t.Errorf("master key without an end user: %q %q %q", ctx.Tags, ctx.LateTags, ctx.UserAgent)
	}
	if ctx := read(`{"model":"m","user":"c1","tags":["a"]}`, nil, ""); !slices.Equal(ctx.LateTags, []string{"a"}) {
		t.Errorf("an end user's request: %q", ctx.LateTags)
	}
	// Bounds: at most maxRequestTags in all, none longer than maxTagLength,
	// the User-Agent cut to maxUserAgent; bytes that are not UTF-8 dropped.
	var many []string
	for i := range 3 * maxRequestTags {
		many = append(many, `"t`+strings.Repeat("x", i)+`"`)
	}
	long := strings.Repeat("y", maxTagLength+1)
	ctx := read(`{"model":"m","metadata":{"tags":["`+long+`"]},"tags":[`+strings.Join(many, ",")+`]}`,
		map[string]string{"x-litellm-tags": "bad\xff", "user-agent": strings.Repeat("u", 4*maxUserAgent) + "\xff"}, "k1")
	if n := len(ctx.Tags) + len(ctx.LateTags); n != maxRequestTags || slices.Contains(ctx.Tags, long) || ctx.Tags[0] != "bad" {
		t.Errorf("bounded: %d tags (want %d), early %q", n, maxRequestTags, ctx.Tags)
	}
	if len(ctx.UserAgent) != maxUserAgent {
		t.Errorf("user agent of %d bytes, want %d", len(ctx.UserAgent), maxUserAgent)
	}
	st.userAgentTags = false // disable_add_user_agent_to_request_tags
	if ctx := read(`{"model":"m"}`, h, "k1"); ctx.UserAgent != "" {
		t.Errorf("user agent kept when off: %q", ctx.UserAgent)
	}
	d := &config.Deployment{Params: config.LiteLLMParams{Tags: []string{"dep-a"}}}
	body := []string{"root-a"}
	if got := lateTags(body, d); !slices.Equal(got, []string{"root-a", "dep-a"}) || len(body) != 1 {
		t.Errorf("late tags with the deployment's: %q", got)
	}
}
