package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestResetAfterHeadersCoolsDown: a deployment that sends its response
// headers and then drops the connection fails like one that drops it before
// (LiteLLM: an APIConnectionError, which counts toward the cooldown). The
// client never sees it (the try is retried on the other deployment), and
// after allowed_fails the deployment is cooled down. It used to be counted as
// a success: it kept its share of traffic for good.
func TestResetAfterHeadersCoolsDown(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: pair
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/ok/v1, api_key: k}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cut/v1, api_key: k}
router_settings:
  num_retries: 2
  allowed_fails: 2
  cooldown_time: 30
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/cut/"}, Fault: fakeprovider.Fault{Reset: fakeprovider.ResetAfterHeaders}}))
	// Failures are counted per UTC minute: do not straddle a boundary.
	waitForMinuteLeft(20 * time.Second)
	mark := logMark(g)
	var warm []reply
	for i := 0; i < 100 && fake.Count("/cut/") < 3; i++ {
		warm = append(warm, send(g.URL, chatBody("pair", "warm "+strconv.Itoa(i))))
	}
	requireAllOK(t, "while the deployment resets after its headers", warm)
	if fake.Count("/cut/") < 3 {
		t.Fatalf("the resetting deployment got %d requests in %d", fake.Count("/cut/"), len(warm))
	}
	waitCooling(t, g, "pair", mark) // cooldown_time 30 s: the requests below fit in it
	cooled := fake.Count("/cut/")
	during := sendMany(g.URL, 40, 4, func(i int) string { return chatBody("pair", "after "+strconv.Itoa(i)) })
	requireAllOK(t, "after allowed_fails", during)
	if got := fake.Count("/cut/") - cooled; got != 0 {
		t.Errorf("the deployment that resets after its headers received %d of 40 requests after failing 3 times (allowed_fails 2): not cooled down", got)
	}
}
