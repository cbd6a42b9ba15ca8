package translator

import (
	"sync"

	"github.com/llmgate/llmgate/internal/provider"
)

var (
	regMu    sync.RWMutex
	registry = map[provider.Wire]Translator{}
)

// Register makes a translator available for a wire format. Each translator
// file registers itself from init.
func Register(w provider.Wire, t Translator) {
	regMu.Lock()
	defer regMu.Unlock()
	registry[w] = t
}

// For returns the translator of a provider's wire format (internal/provider),
// or nil for a provider llmgate does not serve.
func For(name string) Translator {
	p, ok := provider.Lookup(name)
	if !ok {
		return nil
	}
	regMu.RLock()
	defer regMu.RUnlock()
	return registry[p.Wire]
}
