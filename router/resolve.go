package router

import (
	"regexp"
	"sort"
	"strings"

	"github.com/llmgate/llmgate/config"
)

// InvalidModelError is returned by Resolve for a model name that matches no
// alias, model group or wildcard pattern. The caller answers it with an
// OpenAI-format 400.
type InvalidModelError struct {
	Model string
}

func (e *InvalidModelError) Error() string {
	return "Invalid model name passed in model=" + e.Model
}

// Status is the HTTP status for the client.
func (e *InvalidModelError) Status() int { return 400 }

// Resolution is a requested model name resolved to a model group.
type Resolution struct {
	Requested string // the name the client sent
	Group     string // the model group (for a wildcard: the pattern, e.g. "anthropic/*")
	Alias     string // the model_group_alias used, if any
	Wildcard  bool
	// Captures are the parts of the requested name matched by each '*' of the
	// pattern, in order (wildcards only).
	Captures []string
}

// Target is a deployment of a resolved group, with the provider model id to
// call (wildcards substituted).
type Target struct {
	DeploymentID string
	Group        string
	Provider     string
	Model        string // provider model id without the provider prefix
}

type pattern struct {
	name string
	re   *regexp.Regexp
	n    int // number of '*'
}

type table struct {
	groups   map[string][]*config.Deployment // by model_name, file order
	order    []string                        // group names, file order
	byID     map[string]*config.Deployment
	patterns []pattern // longest first
	aliases  map[string]config.Alias
}

func buildTable(cfg *config.Config) *table {
	t := &table{
		groups:  map[string][]*config.Deployment{},
		byID:    map[string]*config.Deployment{},
		aliases: cfg.Router.ModelGroupAlias,
	}
	for i := range cfg.Models {
		d := &cfg.Models[i]
		if _, ok := t.groups[d.ModelName]; !ok {
			t.order = append(t.order, d.ModelName)
			if d.Wildcard || strings.Contains(d.ModelName, "*") {
				t.patterns = append(t.patterns, compilePattern(d.ModelName))
			}
		}
		t.groups[d.ModelName] = append(t.groups[d.ModelName], d)
		t.byID[d.ID] = d
	}
	sort.SliceStable(t.patterns, func(i, j int) bool { return len(t.patterns[i].name) > len(t.patterns[j].name) })
	return t
}

func compilePattern(name string) pattern {
	parts := strings.Split(name, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return pattern{
		name: name,
		re:   regexp.MustCompile("^" + strings.Join(parts, "(.*)")),
		n:    len(parts) - 1,
	}
}

func (t *table) isPattern(group string) bool {
	ds := t.groups[group]
	return len(ds) > 0 && (ds[0].Wildcard || strings.Contains(group, "*"))
}

// Resolve maps a requested model name to its model group: model_group_alias
// first (hidden or not), then an exact group name, then wildcard patterns
// (longest first), trying the name as given and then as provider/model.
func (r *Router) Resolve(requested string) (Resolution, error) {
	return r.tbl.resolve(requested)
}

func (t *table) resolve(requested string) (Resolution, error) {
	res := Resolution{Requested: requested}
	name := requested
	if a, ok := t.aliases[requested]; ok && a.Group != "" {
		res.Alias = requested
		name = a.Group
	}
	if _, ok := t.groups[name]; ok && !t.isPattern(name) {
		res.Group = name
		return res, nil
	}
	candidates := []string{name}
	if p := inferProvider(name); p != "" && !strings.HasPrefix(name, p+"/") {
		candidates = append(candidates, p+"/"+name)
	}
	for _, c := range candidates {
		for _, p := range t.patterns {
			m := p.re.FindStringSubmatch(c)
			if m == nil {
				continue
			}
			res.Group = p.name
			res.Wildcard = true
			res.Captures = m[1:]
			return res, nil
		}
	}
	return Resolution{}, &InvalidModelError{Model: requested}
}

// inferProvider is LiteLLM's provider inference for a bare model name.
func inferProvider(model string) string {
	if i := strings.IndexByte(model, '/'); i > 0 && knownProviders[model[:i]] {
		return model[:i]
	}
	switch {
	case strings.HasPrefix(model, "claude"):
		return "anthropic"
	case strings.HasPrefix(model, "gemini"):
		return "gemini"
	case strings.HasPrefix(model, "command"):
		return "cohere"
	case strings.HasPrefix(model, "mistral"), strings.HasPrefix(model, "codestral"):
		return "mistral"
	}
	return "openai"
}

var knownProviders = map[string]bool{
	"openai": true, "azure": true, "azure_ai": true, "anthropic": true, "bedrock": true,
	"vertex_ai": true, "gemini": true, "cohere": true, "ollama": true, "ollama_chat": true,
	"huggingface": true, "groq": true, "mistral": true, "together_ai": true, "deepseek": true,
	"fireworks_ai": true, "openrouter": true, "perplexity": true, "xai": true, "hosted_vllm": true,
	"text-completion-openai": true, "cohere_chat": true, "databricks": true, "cerebras": true,
	"sambanova": true, "nvidia_nim": true, "watsonx": true, "sagemaker": true, "vllm": true,
	"lm_studio": true, "litellm_proxy": true, "custom_openai": true,
}

// Targets returns the deployments of a resolved group with the provider model
// to call. For a wildcard group, each captured part replaces the next '*' of
// litellm_params.model.
func (r *Router) Targets(res Resolution) []Target {
	ds := r.tbl.groups[res.Group]
	out := make([]Target, 0, len(ds))
	for _, d := range ds {
		out = append(out, target(d, res))
	}
	return out
}

func target(d *config.Deployment, res Resolution) Target {
	t := Target{DeploymentID: d.ID, Group: d.ModelName, Provider: d.Provider, Model: d.Model}
	if !res.Wildcard || !strings.Contains(d.Params.Model, "*") {
		return t
	}
	full := substitute(d.Params.Model, res.Captures, res.Requested)
	if strings.HasPrefix(full, d.Provider+"/") && strings.HasPrefix(d.Params.Model, d.Provider+"/") {
		t.Model = strings.TrimPrefix(full, d.Provider+"/")
		return t
	}
	// A bare pattern ("*"): the provider comes from the substituted name.
	if i := strings.IndexByte(full, '/'); i > 0 && knownProviders[full[:i]] {
		t.Provider, t.Model = full[:i], full[i+1:]
		return t
	}
	t.Model = full
	return t
}

// substitute replaces each '*' of model with the next capture. When there are
// fewer captures than stars, the rest take the whole requested name.
func substitute(model string, captures []string, requested string) string {
	var b strings.Builder
	i := 0
	for _, c := range model {
		if c != '*' {
			b.WriteRune(c)
			continue
		}
		if i < len(captures) {
			b.WriteString(captures[i])
		} else {
			b.WriteString(requested)
		}
		i++
	}
	return b.String()
}

// Group is one entry of /models.
type Group struct {
	Name        string
	AliasOf     string // set for a model_group_alias entry
	Wildcard    bool
	Deployments []string // deployment ids
}

// Groups lists the model groups in config order, then the aliases that are
// not hidden (sorted by name).
func (r *Router) Groups() []Group {
	t := r.tbl
	out := make([]Group, 0, len(t.order)+len(t.aliases))
	for _, name := range t.order {
		g := Group{Name: name, Wildcard: t.isPattern(name)}
		for _, d := range t.groups[name] {
			g.Deployments = append(g.Deployments, d.ID)
		}
		out = append(out, g)
	}
	names := make([]string, 0, len(t.aliases))
	for a := range t.aliases {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, a := range names {
		al := t.aliases[a]
		if al.Hidden {
			continue
		}
		g := Group{Name: a, AliasOf: al.Group}
		for _, d := range t.groups[al.Group] {
			g.Deployments = append(g.Deployments, d.ID)
		}
		out = append(out, g)
	}
	return out
}

// Deployment returns a deployment by id.
func (r *Router) Deployment(id string) (*config.Deployment, bool) {
	d, ok := r.tbl.byID[id]
	return d, ok
}

// GroupDeployments returns the deployments of a model group (config order).
func (r *Router) GroupDeployments(group string) []*config.Deployment {
	return r.tbl.groups[group]
}
