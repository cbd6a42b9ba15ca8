package model

import (
	"regexp"
	"strings"

	"github.com/llmgate/llmgate/config"
)

// InvalidModelError is a model name that matches no alias, model group or
// wildcard pattern; the client gets an OpenAI-format 400.
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

// Target is a deployment of a resolved group with the provider model id to
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
}

func compilePattern(name string) pattern {
	parts := strings.Split(name, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return pattern{name: name, re: regexp.MustCompile("^" + strings.Join(parts, "(.*)"))}
}

// Resolve maps a requested model name to its model group as LiteLLM does:
// model_group_alias first (hidden or not), then an exact group name, then
// the wildcard patterns (longest first), trying the name as given and then
// as provider/name with the provider inferred from the name.
func (m *Model) Resolve(requested string) (Resolution, error) {
	res := Resolution{Requested: requested}
	name := requested
	if a, ok := m.Aliases[requested]; ok {
		res.Alias = requested
		name = a.Group
	}
	if g, ok := m.groups[name]; ok && !g.Wildcard {
		res.Group = name
		return res, nil
	}
	candidates := []string{name}
	if p := inferProvider(name); !strings.HasPrefix(name, p+"/") {
		candidates = append(candidates, p+"/"+name)
	}
	for _, c := range candidates {
		for _, p := range m.patterns {
			mm := p.re.FindStringSubmatch(c)
			if mm == nil {
				continue
			}
			res.Group = p.name
			res.Wildcard = true
			res.Captures = mm[1:]
			return res, nil
		}
	}
	return Resolution{}, &InvalidModelError{Model: requested}
}

// inferProvider is LiteLLM's provider of a requested name: its prefix when
// it names a provider, else inferred from the bare name.
func inferProvider(name string) string {
	if i := strings.IndexByte(name, '/'); i > 0 && config.IsLiteLLMProvider(name[:i]) {
		return name[:i]
	}
	switch {
	case strings.HasPrefix(name, "claude"):
		return "anthropic"
	case strings.HasPrefix(name, "gemini"):
		return "gemini"
	case strings.HasPrefix(name, "command"):
		return "cohere"
	case strings.HasPrefix(name, "mistral"), strings.HasPrefix(name, "codestral"):
		return "mistral"
	}
	return "openai"
}

// Targets are the deployments of a resolved group with the provider model
// to call.
func (m *Model) Targets(res Resolution) []Target {
	ds := m.GroupDeployments(res.Group)
	out := make([]Target, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.Target(res))
	}
	return out
}

// Target is the deployment for a resolved name: for a wildcard group each
// captured part replaces the next '*' of litellm_params.model, and a bare
// "*" deployment takes its provider from the substituted name.
func (d *Deployment) Target(res Resolution) Target {
	t := Target{DeploymentID: d.ID, Group: d.Group, Provider: d.Provider, Model: d.Model}
	if !res.Wildcard || !strings.Contains(d.ModelPattern, "*") {
		return t
	}
	full := substitute(d.ModelPattern, res.Captures, res.Requested)
	if strings.HasPrefix(full, d.Provider+"/") && strings.HasPrefix(d.ModelPattern, d.Provider+"/") {
		t.Model = strings.TrimPrefix(full, d.Provider+"/")
		return t
	}
	if i := strings.IndexByte(full, '/'); i > 0 && config.IsLiteLLMProvider(full[:i]) {
		t.Provider, t.Model = full[:i], full[i+1:]
		return t
	}
	t.Model = full
	return t
}

// substitute replaces each '*' of model with the next capture; when there
// are fewer captures than stars, the rest take the whole requested name.
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
