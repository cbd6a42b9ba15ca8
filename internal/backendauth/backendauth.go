package backendauth

import (
	"errors"
	"time"
)

// Secret is a credential value. It prints as [redacted] in every fmt verb
// and in JSON, so it cannot leak through logs by accident; Reveal returns
// the value for the one place that needs it.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalText keeps the secret out of JSON, YAML and text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Request is the upstream request as it will be sent, after translation.
type Request struct {
	Method string
	Host   string // the Host/:authority header, e.g. "bedrock-runtime.us-east-1.amazonaws.com"
	Path   string // escaped path as sent, without the query
	Query  string // raw query, without '?'
	// Headers are the headers that reach the provider unchanged (lower-case
	// names). SigV4 signs all of them except those AWS never signs.
	Headers map[string]string
	Body    []byte
	Time    time.Time // signing time (SigV4); ignored by key-based kinds
}

// Injector returns the headers that carry a deployment's credentials.
type Injector interface {
	// Headers returns the headers to set. Errors never contain the secret.
	Headers(r Request) (map[string]string, error)
}

// ErrNoCredentials is returned when an injector has no key to send.
var ErrNoCredentials = errors.New("backendauth: no credentials configured")
