package extproc

import (
	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/provider"
	"github.com/llmgate/llmgate/translator"
)

// rewriteMessages applies a deployment's message rewrites to a chat body
// before the translator (D103, D119): LiteLLM's order — the alternation, the
// cache_control marks, then supports_system_message: false.
// cache_control_injection_points apply to Anthropic deployments only: other
// providers' requests do not carry the marks (LiteLLM's OpenAI-compatible
// transformation removes them).
func rewriteMessages(body []byte, p *config.LiteLLMParams, providerName string) ([]byte, *translator.Error) {
	if p.Messages != nil {
		var e *translator.Error
		if body, e = translator.RewriteMessages(body, p.Messages, wireOf(providerName) == provider.WireAnthropic); e != nil {
			return nil, e
		}
	}
	if p.NoSystemMessage {
		return translator.MapSystemMessages(body)
	}
	return body, nil
}

// wireOf is a provider's wire format ("" when unknown).
func wireOf(name string) provider.Wire {
	p, _ := provider.Lookup(name)
	return p.Wire
}
