package jwtauth

import (
	"strings"
)

// groups are LiteLLM's LiteLLMRoutes route groups (proxy/_types.py) that
// admin_allowed_routes, team_allowed_routes, allowed_routes and
// admin_only_routes may name. "{x}" in a route matches one path segment, as
// LiteLLM's _route_matches_pattern.
var groups = map[string][]string{
	"openai_routes": {
		"/engines/{model}/chat/completions", "/openai/deployments/{model}/chat/completions", "/chat/completions", "/v1/chat/completions",
		"/engines/{model}/completions", "/openai/deployments/{model}/completions", "/completions", "/v1/completions",
		"/engines/{model}/embeddings", "/openai/deployments/{model}/embeddings", "/embeddings", "/v1/embeddings",
		"/images/generations", "/v1/images/generations", "/images/edits", "/v1/images/edits",
		"/audio/transcriptions", "/v1/audio/transcriptions", "/audio/speech", "/v1/audio/speech",
		"/moderations", "/v1/moderations",
		"/v1/batches", "/batches", "/v1/batches/{batch_id}", "/batches/{batch_id}",
		"/v1/files", "/files", "/v1/files/{file_id}", "/files/{file_id}", "/v1/files/{file_id}/content", "/files/{file_id}/content",
		"/fine_tuning/jobs", "/v1/fine_tuning/jobs", "/fine_tuning/jobs/{fine_tuning_job_id}/cancel", "/v1/fine_tuning/jobs/{fine_tuning_job_id}/cancel",
		"/assistants", "/v1/assistants", "/v1/assistants/{assistant_id}", "/assistants/{assistant_id}",
		"/threads", "/v1/threads", "/threads/{thread_id}", "/v1/threads/{thread_id}",
		"/threads/{thread_id}/messages", "/v1/threads/{thread_id}/messages", "/threads/{thread_id}/runs", "/v1/threads/{thread_id}/runs",
		"/models", "/v1/models", "/utils/token_counter", "/utils/transform_request",
		"/rerank", "/v1/rerank", "/v2/rerank", "/realtime", "/v1/realtime",
		"/responses", "/v1/responses", "/responses/{response_id}", "/v1/responses/{response_id}",
		"/responses/{response_id}/input_items", "/v1/responses/{response_id}/input_items",
		"/vector_stores", "/v1/vector_stores", "/vector_stores/{vector_store_id}/search", "/v1/vector_stores/{vector_store_id}/search",
	},
	"anthropic_routes": {"/v1/messages"},
	"info_routes": {
		"/key/info", "/key/health", "/team/info", "/team/list", "/v2/team/list", "/organization/list", "/team/available",
		"/user/info", "/model/info", "/v1/model/info", "/v2/model/info", "/v2/key/info", "/model_group/info", "/health",
		"/key/list", "/user/filter/ui",
	},
	"management_routes": {
		"/user/new", "/user/update", "/user/delete", "/user/info",
		"/team/new", "/team/update", "/team/delete", "/team/list", "/v2/team/list", "/team/info", "/team/block", "/team/unblock",
		"/team/available", "/team/permissions_list", "/team/permissions_update",
		"/model/new", "/model/update", "/model/delete", "/model/info",
		"/key/generate", "/key/update", "/key/delete", "/key/info", "/key/regenerate", "/key/service-account/generate",
		"/key/{token_id}/regenerate", "/key/list", "/key/block", "/key/unblock",
	},
	"spend_tracking_routes": {"/spend/keys", "/spend/users", "/spend/tags", "/spend/calculate", "/spend/logs"},
	"global_spend_tracking_routes": {
		"/global/spend/logs", "/global/spend", "/global/spend/keys", "/global/spend/teams", "/global/spend/end_users",
		"/global/spend/models", "/global/predict/spend/logs", "/global/spend/report", "/global/spend/provider",
	},
	"public_routes": {
		"/routes", "/", "/health/liveliness", "/health/liveness", "/health/readiness", "/test", "/config/yaml", "/metrics",
		"/litellm/.well-known/litellm-ui-config", "/.well-known/litellm-ui-config", "/public/model_hub",
	},
}

// IsGroup reports whether name is a LiteLLM route group ("management_routes"
// or "LiteLLMRoutes.management_routes").
func IsGroup(name string) bool {
	_, ok := groups[strings.TrimPrefix(name, "LiteLLMRoutes.")]
	return ok
}

// Routes is a list of routes and route groups: a route matches an entry
// exactly, or a group's route (its "{x}" placeholders one segment each).
type Routes struct {
	exact    map[string]bool
	patterns [][]string // a group route with placeholders, split at "/"
	actual   []string   // every route, groups expanded (for messages)
}

// NewRoutes compiles entries (nil when entries is nil).
func NewRoutes(entries []string) *Routes {
	if entries == nil {
		return nil
	}
	r := &Routes{exact: make(map[string]bool)}
	add := func(p string, pattern bool) {
		r.actual = append(r.actual, p)
		if pattern && strings.Contains(p, "{") {
			r.patterns = append(r.patterns, strings.Split(p, "/"))
			return
		}
		r.exact[p] = true
	}
	for _, e := range entries {
		if g, ok := groups[strings.TrimPrefix(e, "LiteLLMRoutes.")]; ok {
			for _, p := range g {
				add(p, true)
			}
			continue
		}
		add(e, false)
	}
	return r
}

// Has reports whether path (without its query) is one of the routes.
func (r *Routes) Has(path string) bool {
	if r.exact[path] {
		return true
	}
	for _, p := range r.patterns {
		if segmentsMatch(p, path) {
			return true
		}
	}
	return false
}

// Actual lists the routes, groups expanded, as LiteLLM's messages print
// them (a Python list).
func (r *Routes) Actual() string {
	if r == nil {
		return "[]"
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range r.actual {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('\'')
		b.WriteString(p)
		b.WriteByte('\'')
	}
	b.WriteByte(']')
	return b.String()
}

// segmentsMatch matches path against a pattern split at "/".
func segmentsMatch(pattern []string, path string) bool {
	for i, seg := range pattern {
		cut, rest, more := strings.Cut(path, "/")
		if more != (i < len(pattern)-1) {
			return false
		}
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			if cut == "" {
				return false
			}
		} else if cut != seg {
			return false
		}
		path = rest
	}
	return true
}
