package extproc

import (
	"strconv"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/internal/contract"
)

// LiteLLM's spacing of retries on the same deployment after a try that left
// no response to carry a Retry-After (a per-try timeout, a reset, a refused
// connection): docs/architecture.md D18. Envoy's own back-off for those is
// fully jittered from 0 (5 ms base), so the attempt filter of the next try
// holds its request headers for LiteLLM's wait before the try goes out.

// maxHoldMessageTimeout bounds the ext_proc message timeout the attempt
// filter asks for while it holds a try (the filter's max_message_timeout).
const maxHoldMessageTimeout = 60 * time.Second

// holdMargin is added to a hold for ext_proc's message timeout.
const holdMargin = 5 * time.Second

// retryWait is LiteLLM's wait before retry k (1-based) of a group when no
// other healthy deployment can take it and nothing says how long to wait:
// its router sleeps before the first retry and again after each failed one,
// with 0.5·2ⁿ s (capped at 8 s, less up to 25% jitter) where n is 0 for the
// first two waits, then 1, 2, … (remaining_retries counts the loop index).
func (t *try) retryWait(k int) time.Duration {
	return t.st.Router.Backoff(max(k-2, 0), 0, false)
}

// holdFor is how long this try waits before it goes out: LiteLLM's wait when
// the previous try of the plan was the same deployment and ended without a
// response the attempt filter marked (spaced by Envoy's Retry-After back-off
// instead), 0 otherwise.
func (t *try) holdFor(msg *extprocv3.ProcessingRequest) time.Duration {
	i := t.index
	if i <= 0 || i >= len(t.rc.Attempts) || t.rc.Attempts[i].DeploymentId != t.d.ID {
		return 0
	}
	prev := t.rc.Attempts[i-1]
	if prev.DeploymentId != t.d.ID || prev.ModelGroup != t.a.ModelGroup {
		return 0
	}
	if spacedByModule(msg.GetMetadataContext().GetFilterMetadata()[contract.ContextMetadataNamespace].GetFields()) {
		// The module's spacing filter holds this try (D59).
		return 0
	}
	if spacedAfter(msg) == i-1 {
		// The previous try's response carried the wait (D3).
		return 0
	}
	if timedOut(msg, t.reqHdr, i-1) {
		// Envoy's per-try timer starts before the try reaches this filter:
		// a hold would be taken from the retried try's own timeout (D18).
		return 0
	}
	return t.retryWait(int(t.a.Retry))
}

// timedOut reports whether try prev ran for its whole per-try timeout (the
// x-envoy-expected-rq-timeout-ms Envoy sets on each try), by the start time
// it left in dynamic metadata.
func timedOut(msg *extprocv3.ProcessingRequest, h map[string]string, prev int) bool {
	f := msg.GetMetadataContext().GetFilterMetadata()[contract.SpacedMetadataNamespace].GetFields()
	if v, ok := f["started"]; !ok || int(f["started_try"].GetNumberValue()) != prev || v == nil {
		return false
	}
	perTry, err := strconv.ParseInt(h["x-envoy-expected-rq-timeout-ms"], 10, 64)
	if err != nil || perTry <= 0 {
		return false
	}
	ran := time.Now().UnixMilli() - int64(f["started"].GetNumberValue())
	return ran >= perTry-timeoutSlackMS
}

// timeoutSlackMS absorbs the scheduling between a try's start and its
// attempt filter, and between Envoy's per-try timer and the next try.
const timeoutSlackMS = 20

// startedMetadata records when try index went out (for timedOut).
func startedMetadata(index int, at time.Time) *structpb.Struct {
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		contract.SpacedMetadataNamespace: structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
			"started":     structpb.NewNumberValue(float64(at.UnixMilli())),
			"started_try": structpb.NewNumberValue(float64(index)),
		}}),
	}}
}

// hold waits d before the try goes out, asking Envoy for a longer message
// timeout first when d would outlast ext_proc's. It returns false when the
// client went away.
func (t *try) hold(stream extprocv3.ExternalProcessor_ProcessServer, d time.Duration) (bool, error) {
	if d <= 0 {
		return true, nil
	}
	if d+time.Second > holdMargin {
		mt := min(d+holdMargin, maxHoldMessageTimeout)
		if err := stream.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(mt)}); err != nil {
			return false, err
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true, nil
	case <-stream.Context().Done():
		return false, stream.Context().Err()
	}
}

// spacedMetadata tells the next try that this one's retry is spaced by the
// Retry-After its response carries, so that it does not wait again.
func spacedMetadata(index int) *structpb.Struct {
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		contract.SpacedMetadataNamespace: structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
			"after": structpb.NewNumberValue(float64(index)),
			// The module's spacing filter reads strings (D59).
			contract.SpacingAfterKey: structpb.NewStringValue(strconv.Itoa(index)),
		}}),
	}}
}

// spacedAfter is the index of the last try whose response carried its
// retry's wait, -1 when none did.
func spacedAfter(msg *extprocv3.ProcessingRequest) int {
	ns := msg.GetMetadataContext().GetFilterMetadata()[contract.SpacedMetadataNamespace]
	v, ok := ns.GetFields()["after"]
	if !ok {
		return -1
	}
	return int(v.GetNumberValue())
}
