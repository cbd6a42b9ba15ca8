package byo

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"
)

// YAML renders a proto (a bootstrap) as the YAML Envoy reads with -c.
func YAML(m proto.Message) ([]byte, error) {
	v, err := toMap(m)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(v)
}

// FragmentsYAML renders the fragments with a header saying where each goes.
func FragmentsYAML(fr *Fragments) ([]byte, error) {
	v, err := fr.values()
	if err != nil {
		return nil, err
	}
	doc := map[string]any{
		"http_filters":        v.filters,
		"routes":              v.routes,
		"virtual_hosts":       []any{v.internal},
		"local_reply_mappers": v.mappers,
		"clusters":            v.clusters,
		"listener":            map[string]any{"per_connection_buffer_limit_bytes": fr.BufferLimitBytes},
		"virtual_host":        map[string]any{"include_request_attempt_count": true},
	}
	return header(fmt.Sprintf(`llmgate fragments for a listener you already run (llmgate render --mode fragments).
# `+"`llmgate render --mode merge --into envoy.yaml`"+` does these edits for you.
#
#   http_filters        -> your HTTP connection manager's http_filters, just BEFORE the router.
#                          The ext_proc filters are disabled by default and enabled only on
#                          llmgate's routes (typed_per_filter_config ExtProcPerRoute).
#   routes              -> FIRST in your virtual host's routes (model-group routes match a
#                          header the request filter sets; entry routes match LLM paths).
#   virtual_hosts       -> beside your virtual hosts (fallback redirects go to %s).
#   local_reply_mappers -> FIRST in local_reply_config.mappers; each matches only replies
#                          on llmgate's routes, so your app's errors keep their bodies.
#   clusters            -> static_resources.clusters (llmgate extproc and the deployments).
#   listener            -> your listener: request bodies are buffered up to this.
#   virtual_host        -> your virtual host: the attempt filter reads x-envoy-attempt-count.`, InternalDomain), doc)
}
