package guardrails

import (
	"encoding/json"

	"github.com/llmgate/llmgate/internal/pyrepr"
)

// pyRepr writes a JSON value as Python's str() of the dict json.loads
// makes of it (pyrepr.Repr): LiteLLM's proxy answers an HTTPException's
// detail dict that way in its error message.
func pyRepr(raw json.RawMessage) string { return pyrepr.Repr(raw) }
