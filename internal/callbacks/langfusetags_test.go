package callbacks

import (
	"slices"
	"testing"

	"github.com/llmgate/llmgate/internal/outcome"
)

// TestLangfuseTags (D91): the trace's tags are the request's tags, then the
// listed fields in LiteLLM's metadata order whatever the list's order
// ("None" when unset), cache_hit and cache_key, proxy_base_url when set; a
// name that is no field adds nothing; no list: the request's tags alone.
func TestLangfuseTags(t *testing.T) {
	tr := &outcome.Try{Tags: []string{"a"}, LateTags: []string{"b"}, KeyHash: "h1", TeamID: "t1", ModelGroup: "g", Route: "/v1/chat/completions"}
	s := &Settings{LangfuseDefaultTags: []string{"proxy_base_url", "cache_key", "model_group", "user_api_key_user_email", "nope",
		"user_api_key_team_alias", "user_api_key_hash", "cache_hit", "user_api_key_request_route"}, ProxyBaseURL: "https://p",
		TeamAlias: func(id string) string { return map[string]string{"t1": "Team One"}[id] }}
	want := []string{"a", "b", "user_api_key_hash:h1", "user_api_key_team_alias:Team One", "user_api_key_user_email:None",
		"user_api_key_request_route:/v1/chat/completions", "model_group:g", "cache_hit:False", "cache_key:None", "proxy_base_url:https://p"}
	if got := langfuseTags(tr, s); !slices.Equal(got, want) {
		t.Errorf("tags %q\nwant %q", got, want)
	}
	s.RequestTags = func(*outcome.Try) []string { return []string{"merged"} }
	s.LangfuseDefaultTags = []string{"proxy_base_url"}
	s.ProxyBaseURL = ""
	if got := langfuseTags(tr, s); !slices.Equal(got, []string{"merged"}) {
		t.Errorf("with the key's tags, no PROXY_BASE_URL: %q", got)
	}
	if got := langfuseTags(&outcome.Try{}, &Settings{}); got == nil || len(got) != 0 {
		t.Errorf("nothing: %#v, want an empty list", got)
	}
}
