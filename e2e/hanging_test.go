package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestHangingRequestAlert: with alert_types [llm_requests_hanging] and
// alerting_threshold 0.5, a request the provider answers after 2.5 s raises
// one "Requests are hanging" alert while it is still in flight, naming its
// call id, model and api_base; a fast request raises none.
func TestHangingRequestAlert(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/slow/"}, Fault: fakeprovider.Fault{Delay: 2500 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var texts []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		texts = append(texts, m["text"])
		mu.Unlock()
	}))
	defer hook.Close()
	hanging := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, s := range texts {
			if strings.Contains(s, "Requests are hanging") {
				out = append(out, s)
			}
		}
		return out
	}
	cfg := fmt.Sprintf(`
model_list:
  - model_name: slow
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/slow/v1, api_key: sk-fake}
    model_info: {id: slow-deployment}
  - model_name: fast
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/fast/v1, api_key: sk-fake}
general_settings:
  master_key: %[2]s
  alerting: ["slack"]
  alerting_threshold: 0.5
  alert_types: ["llm_requests_hanging"]
`, fake.URL(), master)
	g := startGateway(t, cfg, "SLACK_WEBHOOK_URL="+hook.URL+"/slack")

	for i := 0; i < 3; i++ {
		if st, _, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"fast","messages":[{"role":"user","content":"hi"}]}`); st != 200 {
			t.Fatalf("fast: %d %s", st, b)
		}
	}
	type answer struct {
		status int
		callID string
		at     time.Time
	}
	done := make(chan answer, 1)
	go func() {
		st, h, _ := post(t, g.URL+"/v1/chat/completions", master, `{"model":"slow","messages":[{"role":"user","content":"hi"}]}`)
		done <- answer{st, h.Get("x-litellm-call-id"), time.Now()}
	}()
	var alertAt time.Time
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(hanging()) > 0 {
			alertAt = time.Now()
			break
		}
	}
	a := <-done
	if a.status != 200 {
		t.Fatalf("slow request: %d", a.status)
	}
	if alertAt.IsZero() || !alertAt.Before(a.at) {
		t.Fatalf("hanging alert at %v, answer at %v: want the alert while the request was in flight", alertAt, a.at)
	}
	time.Sleep(time.Second) // later checks raise nothing more
	got := hanging()
	if len(got) != 1 {
		t.Fatalf("%d hanging alerts, want 1: %q", len(got), got)
	}
	for _, want := range []string{"`Requests are hanging - 0.5s+ request time`", "Request ID: `" + a.callID + "`", "Request Model: `slow`",
		"Deployment ID: `slow-deployment`", "API Base: `127.0.0.1:"} {
		if a.callID == "" || !strings.Contains(got[0], want) {
			t.Errorf("alert %q lacks %q", got[0], want)
		}
	}
}
