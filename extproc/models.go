package extproc

import (
	"encoding/json"
	"slices"
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/internal/modelfacts"
	"github.com/llmgate/llmgate/translator"
)

// wildcardModel is a known model a provider wildcard group serves.
type wildcardModel struct {
	name     string // as listed, e.g. "anthropic/claude-3-haiku-20240307"
	provider string
	id       string // the provider's model id, as the facts table names it
}

// wildcardModels expands every "prefix/…*" model group into the known models
// of its provider (the built-in model facts table), as LiteLLM's /v1/models
// does: the provider is the deployment's (else the prefix), a suffix other
// than "*" filters by its text (gemini/gemini-* → the gemini-… models) or,
// when no model starts with it, is put in front of each; every name gets the
// group's prefix. A bare "*" is not expanded. Names that are groups already
// are left out.
func (st *State) wildcardModels() []wildcardModel {
	var out []wildcardModel
	seen := map[string]bool{}
	for _, g := range st.Router.Groups() {
		seen[g.Name] = true
	}
	for _, g := range st.Router.Groups() {
		prefix, suffix, ok := strings.Cut(g.Name, "/")
		if !g.Wildcard || g.AliasOf != "" || !ok || strings.Contains(prefix, "*") {
			continue
		}
		provider := prefix
		if len(g.Deployments) > 0 {
			if d, ok := st.Router.Deployment(g.Deployments[0]); ok && d.Provider != "" {
				provider = d.Provider
			}
		}
		known := modelfacts.ModelsOf(provider)
		ids := known
		if suffix != "*" {
			filter := strings.ReplaceAll(suffix, "*", "")
			strip := func(m string) string { return strings.TrimPrefix(m, provider+"/") }
			if slices.ContainsFunc(known, func(m string) bool { return strings.HasPrefix(strip(m), filter) }) {
				ids = slices.DeleteFunc(slices.Clone(known), func(m string) bool { return !strings.HasPrefix(strip(m), filter) })
			} else {
				ids = make([]string, len(known))
				for i, m := range known {
					ids[i] = filter + strip(m)
				}
			}
		}
		for _, id := range ids {
			name := id
			if !strings.HasPrefix(name, prefix+"/") {
				name = prefix + "/" + strings.TrimPrefix(id, provider+"/")
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, wildcardModel{name: name, provider: provider, id: strings.TrimPrefix(id, provider+"/")})
		}
	}
	return out
}

// modelNames is what /v1/models lists: model groups (wildcard patterns as
// written), aliases that are not hidden, then the models provider wildcards
// expand to.
func (st *State) modelNames() []string {
	var out []string
	for _, g := range st.Router.Groups() {
		out = append(out, g.Name)
	}
	for _, w := range st.wildcardModels() {
		out = append(out, w.name)
	}
	return out
}

// modelReply is /v1/models/{model} (OpenAI's models.retrieve): the model when
// /v1/models lists it or the gateway would serve it (a wildcard group matches
// it), else OpenAI's 404.
func (st *State) modelReply(model string) *extprocv3.ProcessingResponse {
	known := slices.Contains(st.modelNames(), model)
	if !known {
		_, err := st.Router.Resolve(model)
		known = err == nil
	}
	if !known {
		return errorReply(&translator.Error{Status: 404, Type: "invalid_request_error", Param: "model", Code: "model_not_found",
			Message: "The model `" + model + "` does not exist or you do not have access to it."}, nil)
	}
	b, _ := json.Marshal(modelEntry{ID: model, Object: "model", Created: 1677610602, OwnedBy: "openai"})
	return immediate(200, "application/json", b, nil, "llmgate_models")
}
