package modelfacts

import (
	_ "embed"
	"encoding/json"
	"sort"
	"strings"
	"sync"
)

// Facts are what the gateway knows about one model.
type Facts struct {
	MaxInputTokens     int     `json:"max_input_tokens,omitempty"`
	MaxOutputTokens    int     `json:"max_output_tokens,omitempty"`
	InputCostPerToken  float64 `json:"input_cost_per_token,omitempty"`
	OutputCostPerToken float64 `json:"output_cost_per_token,omitempty"`
	// CacheReadInputTokenCost and CacheCreationInputTokenCost are nil when
	// LiteLLM's table has no such price (the input price applies).
	CacheReadInputTokenCost     *float64 `json:"cache_read_input_token_cost,omitempty"`
	CacheCreationInputTokenCost *float64 `json:"cache_creation_input_token_cost,omitempty"`
	Mode                        string   `json:"mode,omitempty"` // chat, completion, embedding, responses
	Provider                    string   `json:"litellm_provider,omitempty"`
	SupportsFunctionCalling     bool     `json:"supports_function_calling,omitempty"`
	SupportsVision              bool     `json:"supports_vision,omitempty"`
}

//go:embed data/facts.json
var factsJSON []byte

type table struct {
	Source string           `json:"_source"`
	Date   string           `json:"_date"`
	Models map[string]Facts `json:"models"`
}

var (
	loadOnce sync.Once
	loaded   table
	loadErr  error
)

func load() (*table, error) {
	loadOnce.Do(func() { loadErr = json.Unmarshal(factsJSON, &loaded) })
	return &loaded, loadErr
}

// Source says where the built-in table comes from and when it was taken.
func Source() (source, date string) {
	t, _ := load()
	return t.Source, t.Date
}

// Len is the number of models in the table.
func Len() int {
	t, _ := load()
	return len(t.Models)
}

// bedrockRegions are the cross-region inference prefixes of Bedrock model ids.
var bedrockRegions = []string{"us.", "eu.", "apac.", "au.", "jp.", "global.", "us-gov."}

// Lookup returns the facts for a provider's model (model without the provider
// prefix, e.g. ("bedrock", "us.anthropic.claude-3-haiku-20240307-v1:0")). It tries
// "provider/model", then the bare model, then (Bedrock) the id without its
// region prefix; Claude models on the Anthropic API or Vertex AI fall back to
// the same model's Bedrock entry.
func Lookup(provider, model string) (Facts, bool) {
	t, err := load()
	if err != nil || model == "" {
		return Facts{}, false
	}
	try := []string{model}
	if provider != "" {
		try = []string{provider + "/" + model, model}
	}
	if provider == "bedrock" || provider == "bedrock_converse" {
		for _, r := range bedrockRegions {
			if strings.HasPrefix(model, r) {
				try = append(try, "bedrock/"+model, strings.TrimPrefix(model, r))
			}
		}
	}
	if provider == "anthropic" || provider == "vertex_ai" {
		// The same Claude model on Bedrock has the same window and list price.
		m := strings.ReplaceAll(model, "@", "-")
		try = append(try, "anthropic."+m+"-v1:0", "anthropic."+m)
	}
	if provider == "vertex_ai" {
		try = append(try, "vertex_ai/"+model)
	}
	for _, k := range try {
		if f, ok := t.Models[k]; ok {
			return f, true
		}
	}
	return Facts{}, false
}

// providerFamilies are the table's provider names that count as one
// provider's models (LiteLLM's models_by_provider folds them the same way).
var providerFamilies = map[string][]string{
	"bedrock":   {"bedrock", "bedrock_converse"},
	"cohere":    {"cohere", "cohere_chat"},
	"vertex_ai": {"vertex_ai", "vertex_ai-language-models", "vertex_ai-anthropic_models", "vertex_ai-chat-models"},
	"openai":    {"openai"},
}

// ModelsOf lists the table's models of a provider, sorted, as the table names
// them (bare ids, or "provider/id" where LiteLLM's table keys them so).
func ModelsOf(provider string) []string {
	t, err := load()
	if err != nil || provider == "" {
		return nil
	}
	fam, ok := providerFamilies[provider]
	if !ok {
		fam = []string{provider}
	}
	var out []string
	for name, f := range t.Models {
		for _, p := range fam {
			if f.Provider == p {
				out = append(out, name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Rates are the per-token prices one answer is charged at.
type Rates struct {
	Input, Output float64
	// CacheRead and CacheCreation are nil when unset: the input price
	// applies.
	CacheRead, CacheCreation *float64
}

// Rates are the facts' prices.
func (f Facts) Rates() Rates {
	return Rates{Input: f.InputCostPerToken, Output: f.OutputCostPerToken, CacheRead: f.CacheReadInputTokenCost, CacheCreation: f.CacheCreationInputTokenCost}
}

// Cost prices an answer's tokens as LiteLLM's generic_cost_per_token does:
// the prompt's tokens that neither came from nor went to the provider's
// prompt cache at the input price, those read from it (cacheRead) and those
// written to it (cacheCreation) at their own prices (the input price when
// unset), the completion at the output price. cacheRead and cacheCreation
// are part of prompt.
func (r Rates) Cost(prompt, cacheRead, cacheCreation, completion int) (promptCost, completionCost float64) {
	text := max(prompt-cacheRead-cacheCreation, 0)
	read, write := r.Input, r.Input
	if r.CacheRead != nil {
		read = *r.CacheRead
	}
	if r.CacheCreation != nil {
		write = *r.CacheCreation
	}
	promptCost = float64(text)*r.Input + float64(max(cacheRead, 0))*read + float64(max(cacheCreation, 0))*write
	return promptCost, float64(completion) * r.Output
}
