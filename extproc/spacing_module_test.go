package extproc

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// The request filter's part of the module's spacing (D59): a plan that
// retries a deployment on itself carries LiteLLM's wait before each such
// retry and the try timeout, and Envoy's per-try timeout leaves room for the
// longest wait; other plans, and gateways without the module, carry none.
func TestPlanSpacing(t *testing.T) {
	st := stateWith(t, retryConfigDefault)
	same := []*llmgatev1.Attempt{
		{DeploymentId: "a", ModelGroup: "g", Retry: 0},
		{DeploymentId: "a", ModelGroup: "g", Retry: 1},
		{DeploymentId: "a", ModelGroup: "g", Retry: 2},
	}
	other := []*llmgatev1.Attempt{{DeploymentId: "a", ModelGroup: "g"}, {DeploymentId: "b", ModelGroup: "g", Retry: 1}}
	defer SetModuleSpacing(false)

	SetModuleSpacing(false)
	if p := st.planSpacing(same, time.Second); p != nil {
		t.Fatalf("without the module: %+v", p)
	}
	SetModuleSpacing(true)
	if p := st.planSpacing(other, time.Second); p != nil {
		t.Fatalf("a plan that never retries a deployment on itself: %+v", p)
	}
	p := st.planSpacing(same, time.Second)
	if p == nil {
		t.Fatal("no spacing for a plan that retries a deployment on itself")
	}
	holds := strings.Split(p.holds, ",")
	if len(holds) != 3 || holds[0] != "0" {
		t.Fatalf("holds %q, want one per try, none before the first", p.holds)
	}
	longest := 0
	for _, h := range holds[1:] {
		// LiteLLM: 0.5 s × (0.75..1) before each of the first two retries.
		ms, _ := strconv.Atoi(h)
		if ms < 375 || ms > 500 {
			t.Fatalf("wait %s ms, want LiteLLM's 375..500", h)
		}
		longest = max(longest, ms)
	}
	if want := time.Second + time.Duration(longest)*time.Millisecond + spacingRoom; p.envoy != want || p.timeout != time.Second {
		t.Fatalf("Envoy's per-try timeout %v (try timeout %v), want %v", p.envoy, p.timeout, want)
	}
}

// The 408 the spacing filter answers is LiteLLM's Timeout, as the listener's
// mapper writes it for Envoy's own per-try timeout.
func TestTimeoutErrorBody(t *testing.T) {
	var e struct {
		Error struct {
			Message, Type, Code string
			Param               *string
		}
	}
	if err := json.Unmarshal(TimeoutErrorBody(`g"1`), &e); err != nil {
		t.Fatal(err)
	}
	if e.Error.Type != "timeout_error" || e.Error.Code != "408" || e.Error.Param != nil ||
		e.Error.Message != "litellm.Timeout: APITimeoutError - Request timed out. Received Model Group=g\"1\nAvailable Model Group Fallbacks=None" {
		t.Fatalf("%+v", e)
	}
}
