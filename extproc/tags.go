package extproc

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/llmgate/llmgate/config"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// A request's own tags for its spend log's request_tags (D84), read as
// LiteLLM 1.108's proxy reads them (litellm_pre_call_utils.py): the body's
// metadata.tags; the x-litellm-tags header (comma-separated, trimmed; merged
// before auth, apply_client_tag_policy_pre_auth); then, after the key's and
// the team's metadata.tags (merged by the spend sink, which holds them), the
// body's top-level tags (a list; add_request_tag_to_metadata). The router
// then adds the answering deployment's litellm_params.tags, and the spend log
// the "User-Agent: …" tags (StandardLoggingPayloadSetup.get_request_tags).
// Each list is deduplicated in order (LiteLLM's merge_tags).

const (
	// maxRequestTags bounds the tags one request brings (body and header
	// together); more are dropped. LiteLLM has no bound.
	maxRequestTags = 32
	// maxTagLength bounds one tag's bytes; a longer tag is dropped.
	maxTagLength = 256
	// maxUserAgent bounds the User-Agent kept for the spend log's tags.
	maxUserAgent = 256
)

// setRequestTags puts the request's own tags and User-Agent on ctx when its
// spend is logged (a virtual key or an end user), or when
// custom_prometheus_tags labels the metrics (D91): the spend sink and the
// metrics read them from the outcome record.
func (st *State) setRequestTags(ctx *llmgatev1.RequestContext, f *requestFields, h map[string]string) {
	if ctx.KeyHash == "" && ctx.EndUser == "" && !st.metricTags {
		return
	}
	ctx.Tags, ctx.LateTags = ownTags(f, h)
	if st.userAgentTags {
		ua := h["user-agent"]
		if len(ua) > maxUserAgent {
			ua = ua[:maxUserAgent]
		}
		if !utf8.ValidString(ua) {
			ua = strings.ToValidUTF8(ua, "")
		}
		ctx.UserAgent = ua
	}
}

// ownTags are a request's own tags: early (the body's metadata.tags, then
// x-litellm-tags) and late (the body's tags), bounded together.
func ownTags(f *requestFields, h map[string]string) (early, late []string) {
	if len(f.Metadata) == 0 && h["x-litellm-tags"] == "" && len(f.Tags) == 0 {
		return nil, nil
	}
	n := 0
	if len(f.Metadata) > 0 {
		var md map[string]json.RawMessage
		if json.Unmarshal(f.Metadata, &md) == nil {
			early = appendTagList(early, md["tags"], &n)
		}
	}
	if v := h["x-litellm-tags"]; v != "" {
		// A header may carry bytes that are not UTF-8; a protobuf
		// string may not.
		for _, t := range strings.Split(strings.ToValidUTF8(v, ""), ",") {
			early = appendTag(early, strings.TrimSpace(t), &n)
		}
	}
	return early, appendTagList(nil, f.Tags, &n)
}

// routingTags are the tags LiteLLM's router filters deployments by
// (enable_tag_filtering, D89): the request's metadata.tags as its proxy
// merged them before routing — the early tags, the key's and its team's
// metadata.tags, the late tags — each once; nil without tag filtering.
func (st *State) routingTags(f *requestFields, h map[string]string, token string) []string {
	if !st.Router.Model().Routing.TagFiltering {
		return nil
	}
	tags, late := ownTags(f, h)
	if token != "" && st.keys != nil {
		tags = st.keys.KeyTags(tags, token)
	}
	for _, t := range late {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

// appendTagList appends the strings of a JSON list (anything else: none).
func appendTagList(out []string, raw json.RawMessage, n *int) []string {
	if len(raw) == 0 || raw[0] != '[' {
		return out
	}
	var list []any
	if json.Unmarshal(raw, &list) != nil {
		return out
	}
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = appendTag(out, s, n)
		}
	}
	return out
}

// appendTag appends one tag unless empty, too long, already there, or past
// the request's bound (n counts the request's tags).
func appendTag(out []string, t string, n *int) []string {
	if t == "" || len(t) > maxTagLength || *n >= maxRequestTags {
		return out
	}
	for _, x := range out {
		if x == t {
			return out
		}
	}
	*n++
	return append(out, t)
}

// lateTags are an outcome's tags merged after the key's and team's: the
// body's tags, then the answering deployment's litellm_params.tags (LiteLLM's
// router adds them when it picks the deployment).
func lateTags(body []string, d *config.Deployment) []string {
	if d == nil || len(d.Params.Tags) == 0 {
		return body
	}
	return append(body[:len(body):len(body)], d.Params.Tags...)
}
