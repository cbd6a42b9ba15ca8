package modelfacts

// Facts are what the gateway knows about one model.
type Facts struct {
	MaxInputTokens          int     `json:"max_input_tokens,omitempty"`
	MaxOutputTokens         int     `json:"max_output_tokens,omitempty"`
	InputCostPerToken       float64 `json:"input_cost_per_token,omitempty"`
	OutputCostPerToken      float64 `json:"output_cost_per_token,omitempty"`
	Mode                    string  `json:"mode,omitempty"`
	Provider                string  `json:"litellm_provider,omitempty"`
	SupportsFunctionCalling bool    `json:"supports_function_calling,omitempty"`
	SupportsVision          bool    `json:"supports_vision,omitempty"`
}

// Lookup returns the facts for a provider's model.
func Lookup(provider, model string) (Facts, bool) { return Facts{}, false }
