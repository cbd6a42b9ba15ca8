package translator

import "sync"

var (
	regMu    sync.RWMutex
	registry = map[string]Translator{}
)

// Register makes a translator available for a provider name. Each provider file
// registers itself from init.
func Register(provider string, t Translator) {
	regMu.Lock()
	defer regMu.Unlock()
	registry[provider] = t
}

// For returns the translator for a provider, or nil when there is none.
func For(provider string) Translator {
	regMu.RLock()
	defer regMu.RUnlock()
	return registry[provider]
}

// Providers lists the providers that have a translator.
func Providers() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(registry))
	for p := range registry {
		out = append(out, p)
	}
	return out
}
