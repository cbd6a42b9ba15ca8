package e2e

import (
	"errors"
	"fmt"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func tagRoutingConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: tagged
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/ta/v1, api_key: k, tags: ["teamA"]}
  - model_name: tagged
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/tb/v1, api_key: k, tags: ["teamB", "teamC"]}
  - model_name: tagged
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/td/v1, api_key: k, tags: ["default"]}
  - model_name: tagged
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/tn/v1, api_key: k}
  - model_name: agents
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cc/v1, api_key: k, tag_regex: ["^User-Agent: claude-code/"]}
  - model_name: agents
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/ad/v1, api_key: k, tags: ["default"]}
  - model_name: strict
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/sa/v1, api_key: k, tags: ["teamA"]}
router_settings:
  enable_tag_filtering: true
general_settings:
  master_key: %[2]s
`, fake, master)
}

// TestRouterTags (D89): enable_tag_filtering through the real Envoy with
// openai-go, on the module path and on ext_proc. A request goes to the
// deployments whose litellm_params.tags share one of its tags — from the
// x-litellm-tags header (served by the module), the body's metadata.tags,
// its key's metadata.tags — or whose tag_regex matches "User-Agent: …",
// else to those tagged "default"; an untagged
// request goes to the "default" ones; a tag no deployment of a group without
// a default matches is LiteLLM's 401 "Not allowed to access model due to
// tags configuration". Before D89 the tags were not read: the requests
// spread over the group and the 401 was a 200.
func TestRouterTags(t *testing.T) {
	eachRequestFilter(t, tagRoutingConfig, func(t *testing.T, p routerPath) {
		key, _ := keyAPI{t, p.g}.generate(`{"metadata":{"tags":["teamC"]}}`)
		for _, tc := range []struct {
			name, model, want string
			module            bool // served by the module in module mode
			opts              []option.RequestOption
		}{
			{"x-litellm-tags", "tagged", "/ta/", true, []option.RequestOption{option.WithHeader("x-litellm-tags", "other, teamA")}},
			{"untagged: default", "tagged", "/td/", true, nil},
			{"no match: default", "tagged", "/td/", true, []option.RequestOption{option.WithHeader("x-litellm-tags", "paid")}},
			{"metadata.tags", "tagged", "/tb/", false, []option.RequestOption{option.WithJSONSet("metadata", map[string]any{"tags": []string{"teamB"}})}},
			{"the key's tags", "tagged", "/tb/", false, []option.RequestOption{option.WithAPIKey(key)}},
			{"tag_regex on the User-Agent", "agents", "/cc/", true, []option.RequestOption{option.WithHeader("User-Agent", "claude-code/1.0.3")}},
			{"tag_regex not matched: default", "agents", "/ad/", true, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p.fake.Reset()
				for i := range 6 {
					code, _, module, err := p.chat(t, tc.model, tc.opts...)
					if err != nil || code != 200 {
						t.Fatalf("request %d: %d %v", i, code, err)
					}
					if p.name == "module" && tc.module && !module {
						t.Errorf("request %d was handed to ext_proc", i)
					}
				}
				if got := p.fake.Count(tc.want); got != 6 {
					t.Errorf("%s got %d of 6 requests; %v", tc.want, got, p.fake.Counts())
				}
			})
		}
		t.Run("no deployment for the tags: 401", func(t *testing.T) {
			p.fake.Reset()
			code, _, _, err := p.chat(t, "strict", option.WithHeader("x-litellm-tags", "paid,free"))
			var oe *openai.Error
			if code != 401 || !errors.As(err, &oe) {
				t.Fatalf("%d %v, want a 401 OpenAI error", code, err)
			}
			if want := "Not allowed to access model due to tags configuration. Passed model=strict and tags=['paid', 'free']"; oe.Message != want || oe.Code != "401" {
				t.Errorf("error %q (code %q), want %q", oe.Message, oe.Code, want)
			}
			if n := len(p.fake.Counts()); n != 0 {
				t.Errorf("the provider was called: %v", p.fake.Counts())
			}
		})
	})
}
