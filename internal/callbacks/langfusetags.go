package callbacks

import (
	"slices"
	"strings"

	"github.com/llmgate/llmgate/internal/outcome"
)

// langfuseTags are a Langfuse trace's tags as LiteLLM's Langfuse logger
// builds them (_log_langfuse_v2, add_default_langfuse_tags; D91): the
// request's request_tags, then, for each field of the request's metadata in
// LiteLLM's order that langfuse_default_tags lists, "name:value" (Python's
// str: "None" for a field LiteLLM leaves None), then "cache_hit:True|False"
// and "cache_key:<key>|None" when listed (a response cache hit's, D111), then
// "proxy_base_url:<PROXY_BASE_URL>" when listed and set.
func langfuseTags(t *outcome.Try, s *Settings) []string {
	var tags []string
	if s.RequestTags != nil {
		tags = append(tags, s.RequestTags(t)...)
	} else {
		tags = append(append(tags, t.Tags...), t.LateTags...)
	}
	if len(s.LangfuseDefaultTags) == 0 {
		if tags == nil {
			return []string{}
		}
		return tags
	}
	listed := func(name string) bool { return slices.Contains(s.LangfuseDefaultTags, name) }
	for _, f := range langfuseMetadataFields {
		if listed(f.name) {
			tags = append(tags, f.name+":"+pyStr(f.value(t, s)))
		}
	}
	if listed("cache_hit") {
		tags = append(tags, "cache_hit:"+map[bool]string{true: "True", false: "False"}[t.CacheHit])
	}
	if listed("cache_key") {
		tags = append(tags, "cache_key:"+pyStr(t.CacheKey))
	}
	if listed("proxy_base_url") && s.ProxyBaseURL != "" {
		tags = append(tags, "proxy_base_url:"+s.ProxyBaseURL)
	}
	return tags
}

// langfuseMetadataFields are the fields of LiteLLM's request metadata that
// llmgate knows, in the order LiteLLM's proxy puts them there
// (get_sanitized_user_information_from_key, then user_api_key, then the
// router's model_group).
var langfuseMetadataFields = []struct {
	name  string
	value func(*outcome.Try, *Settings) string
}{
	{"user_api_key_hash", func(t *outcome.Try, _ *Settings) string { return t.KeyHash }},
	{"user_api_key_alias", func(t *outcome.Try, _ *Settings) string { return t.KeyAlias }},
	{"user_api_key_team_id", func(t *outcome.Try, _ *Settings) string { return t.TeamID }},
	{"user_api_key_user_id", func(t *outcome.Try, _ *Settings) string { return t.UserID }},
	{"user_api_key_team_alias", func(t *outcome.Try, s *Settings) string {
		if s.TeamAlias == nil || t.TeamID == "" {
			return ""
		}
		return s.TeamAlias(t.TeamID)
	}},
	{"user_api_key_end_user_id", func(t *outcome.Try, _ *Settings) string { return t.EndUser }},
	{"user_api_key_user_email", func(*outcome.Try, *Settings) string { return "" }},
	{"user_api_key_request_route", func(t *outcome.Try, _ *Settings) string { return t.Route }},
	{"user_api_key", func(t *outcome.Try, _ *Settings) string { return t.KeyHash }},
	{"model_group", func(t *outcome.Try, _ *Settings) string { return t.ModelGroup }},
}

// pyStr is Python's str of an optional string: "None" for none.
func pyStr(v string) string {
	if v == "" {
		return "None"
	}
	return strings.ToValidUTF8(v, "")
}
