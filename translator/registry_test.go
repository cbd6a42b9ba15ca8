package translator

import (
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/provider"
)

// Issue 9 part 2: every provider config accepts has a translator and a
// credential kind, and the endpoints it declares are the ones its
// translator serves.
func TestEveryProviderHasTranslatorAndAuth(t *testing.T) {
	bodies := map[Endpoint]string{
		Chat:        `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		Completions: `{"model":"m","prompt":"hi"}`,
		Embeddings:  `{"model":"m","input":"hi"}`,
	}
	caps := map[Endpoint]provider.Capability{Chat: provider.Chat, Completions: provider.Completions, Embeddings: provider.Embeddings}
	for _, name := range provider.Names() {
		p, _ := provider.Lookup(name)
		tr := For(name)
		if tr == nil {
			t.Errorf("provider %s (wire %s) has no translator", name, p.Wire)
			continue
		}
		if p.Auth == 0 {
			t.Errorf("provider %s has no credential kind", name)
		}
		if !p.Has(provider.Chat) {
			t.Errorf("provider %s does not declare chat", name)
		}
		model := "m"
		if p.Wire == provider.WireBedrock {
			model = "amazon.titan-embed-text-v2:0"
		}
		for ep, body := range bodies {
			_, err := tr.Request(ep, []byte(body), Target{Provider: name, Model: model, Project: "p", APIBase: "https://x"})
			unsupported := err != nil && strings.Contains(err.Error(), "not support") && strings.Contains(err.Error(), ep.String())
			if p.Has(caps[ep]) == unsupported {
				t.Errorf("provider %s: declares %s = %v, translator says %v", name, ep, p.Has(caps[ep]), err)
			}
		}
	}
}
