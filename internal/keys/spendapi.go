package keys

import (
	"context"
	"net/url"
)

// spendRoutes are LiteLLM's spend routes served here (GET).
var spendRoutes = map[string]bool{}

func init() {
	for _, r := range []string{} {
		spendRoutes[r] = true
		getRoutes["spend"+r] = true
	}
}

// handleSpend serves the spend routes.
func (s *Service) handleSpend(ctx context.Context, path string, q url.Values) (any, *Error) {
	return nil, badRequest("unknown spend route " + path)
}
