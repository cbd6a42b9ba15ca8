package extproc

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/internal/contract"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// The spacing of retries on the same deployment by the module's spacing
// filter (docs/architecture.md D59). With llmgate's module loaded, every
// deployment cluster's first upstream filter is the module's spacing filter
// (dynmod/spacing.go). For a request whose plan retries a deployment on
// itself the request filter hands it the try timeout and LiteLLM's wait
// before each such retry (llmgate.ctx), and gives Envoy's per-try timeout
// room for the wait: the filter holds a retried try for its wait, then runs
// the try's own timeout from the moment the try goes out, and when it fires
// answers the router a 408 (LiteLLM's Timeout) marked retriable, so Envoy
// resets the provider's stream and takes the next try. Envoy's per-try timer
// starts before the upstream filters (D18), so a wait taken there would be
// taken from the retried try's timeout; this way each try gets its whole
// timeout and the tries are LiteLLM's wait apart.

// moduleSpacing is on when the module's spacing filter is in the upstream
// filters: set by the gateway when it loads the module, and in the module
// itself (dynmod).
var moduleSpacing atomic.Bool

// EnableModuleSpacing tells the request filter that the module's spacing
// filter runs on every try.
func EnableModuleSpacing() { moduleSpacing.Store(true) }

// SetModuleSpacing sets whether the module's spacing filter runs on every
// try (the gateway: whether this run loads the module).
func SetModuleSpacing(on bool) { moduleSpacing.Store(on) }

// spacingRoom is added to Envoy's per-try timeout beyond the try timeout and
// the longest wait: Envoy's timer is only the backstop of the filter's.
const spacingRoom = time.Second

// spacingPlan is what the request filter hands the spacing filter.
type spacingPlan struct {
	timeout, envoy time.Duration
	holds          string
}

// planSpacing returns the spacing of a plan that retries a deployment on
// itself (nil otherwise, or without the module): LiteLLM's wait before each
// such retry, drawn now (retryWait's rule), and Envoy's per-try timeout.
func (st *State) planSpacing(plan []*llmgatev1.Attempt, timeout time.Duration) *spacingPlan {
	if !moduleSpacing.Load() || timeout <= 0 || len(plan) < 2 {
		return nil
	}
	var holds []byte
	longest := time.Duration(0)
	for i, a := range plan {
		var w time.Duration
		if i > 0 && a.DeploymentId == plan[i-1].DeploymentId && a.ModelGroup == plan[i-1].ModelGroup {
			w = st.Router.Backoff(max(int(a.Retry)-2, 0), 0, false).Truncate(time.Millisecond)
		}
		if i > 0 {
			holds = append(holds, ',')
		}
		holds = strconv.AppendInt(holds, w.Milliseconds(), 10)
		longest = max(longest, w)
	}
	if longest == 0 {
		return nil
	}
	return &spacingPlan{timeout: timeout, envoy: timeout + longest + spacingRoom, holds: string(holds)}
}

// addTo writes the spacing into the llmgate.ctx fields.
func (p *spacingPlan) addTo(ctxFields map[string]*structpb.Value) {
	ctxFields[contract.SpacingTimeoutKey] = structpb.NewStringValue(strconv.FormatInt(p.timeout.Milliseconds(), 10))
	ctxFields[contract.SpacingHoldsKey] = structpb.NewStringValue(p.holds)
}

// spacedByModule reports whether the module's spacing filter spaces this
// try's request (the attempt filter then holds nothing itself).
func spacedByModule(ctxFields map[string]*structpb.Value) bool {
	_, ok := ctxFields[contract.SpacingHoldsKey]
	return ok
}

// TimeoutErrorBody is LiteLLM's answer to a request whose tries timed out
// (408, its Timeout exception), as xds's local-reply mapper writes it for
// Envoy's own per-try timeout (D18).
func TimeoutErrorBody(group string) []byte {
	msg, _ := json.Marshal("litellm.Timeout: APITimeoutError - Request timed out. Received Model Group=" + group + "\nAvailable Model Group Fallbacks=None")
	b := make([]byte, 0, len(msg)+80)
	b = append(b, `{"error":{"message":`...)
	b = append(b, msg...)
	return append(b, `,"type":"timeout_error","param":null,"code":"408"}}`...)
}
