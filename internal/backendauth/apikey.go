package backendauth

import "fmt"

// Bearer sends "Authorization: Bearer <key>" (OpenAI and OpenAI-compatible
// providers). An empty key, or LiteLLM's placeholder "none", sends nothing.
type Bearer struct {
	Key Secret
	// Organization, when set, is sent as OpenAI-Organization.
	Organization string
}

// Headers implements Injector.
func (b Bearer) Headers(Request) (map[string]string, error) {
	h := map[string]string{}
	if b.Key != "" && b.Key != "none" {
		h["authorization"] = "Bearer " + b.Key.Reveal()
	}
	if b.Organization != "" {
		h["openai-organization"] = b.Organization
	}
	return h, nil
}

func (b Bearer) String() string { return fmt.Sprintf("bearer(key=%s)", b.Key) }

// headerKey sends the key in one named header.
type headerKey struct {
	kind, header string
	key          Secret
}

func (k headerKey) Headers(Request) (map[string]string, error) {
	if k.key == "" {
		return nil, fmt.Errorf("%s: %w", k.kind, ErrNoCredentials)
	}
	return map[string]string{k.header: k.key.Reveal()}, nil
}

func (k headerKey) String() string { return fmt.Sprintf("%s(%s=%s)", k.kind, k.header, k.key) }

// AzureAPIKey sends "api-key: <key>" (Azure OpenAI).
func AzureAPIKey(key Secret) Injector { return headerKey{kind: "azure", header: "api-key", key: key} }

// AnthropicAPIKey sends "x-api-key: <key>".
func AnthropicAPIKey(key Secret) Injector {
	return headerKey{kind: "anthropic", header: "x-api-key", key: key}
}

// GoogleAPIKey sends "x-goog-api-key: <key>" (Gemini API).
func GoogleAPIKey(key Secret) Injector {
	return headerKey{kind: "google", header: "x-goog-api-key", key: key}
}

// GoString keeps %#v from printing the key.
func (b Bearer) GoString() string { return b.String() }

func (k headerKey) GoString() string { return k.String() }
