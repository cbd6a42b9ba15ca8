package extproc

import (
	"encoding/base64"
	"fmt"

	"google.golang.org/protobuf/proto"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// encodeContext serializes the request context for the dynamic metadata the
// attempt filter reads (contract.ContextMetadataNamespace, field "ctx"; D2).
func encodeContext(c *llmgatev1.RequestContext) (string, error) {
	b, err := proto.Marshal(c)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeContext reads the request context the request filter wrote.
func decodeContext(s string) (*llmgatev1.RequestContext, error) {
	if s == "" {
		return nil, fmt.Errorf("missing request context")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("request context: %w", err)
	}
	c := &llmgatev1.RequestContext{}
	if err := proto.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("request context: %w", err)
	}
	return c, nil
}
