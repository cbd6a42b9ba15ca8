package provider

import "testing"

// Every entry is complete: a name, a wire format, a credential kind, chat,
// and an endpoint rule (a default, a derived one, or api_base required).
func TestRegistryEntriesComplete(t *testing.T) {
	for _, n := range Names() {
		p, _ := Lookup(n)
		if p.Name != n || p.Wire == "" || p.Auth == 0 || !p.Has(Chat) {
			t.Errorf("%s: incomplete entry %+v", n, p)
		}
		if p.Base == BaseDefault && p.DefaultAPIBase == "" && !p.NeedsAPIBase {
			t.Errorf("%s: no endpoint rule", n)
		}
	}
}
