package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestManySlowRequestsInFlight: 2,000 slow requests at once all succeed.
// Envoy's default circuit breaker on the ext_proc cluster (1,024 requests)
// used to answer the 1,025th an instant 503 (docs/architecture.md, D15).
func TestManySlowRequestsInFlight(t *testing.T) {
	const n = 2000
	fake := fakeprovider.StartT(t, fakeprovider.Options{Latency: 4 * time.Second, NoRecord: true})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: slow
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/slow/v1, api_key: k}
general_settings:
  master_key: %[2]s
`, fake.URL(), master))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}}
	defer client.CloseIdleConnections()
	start := make(chan struct{})
	results := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/v1/chat/completions", strings.NewReader(chatBody("slow", fmt.Sprint("hi ", i))))
			req.Header.Set("content-type", "application/json")
			req.Header.Set("authorization", "Bearer "+master)
			resp, err := client.Do(req)
			if err != nil {
				results[i] = reply{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			results[i] = reply{code: resp.StatusCode, hdr: resp.Header, body: b, err: err}
		}()
	}
	close(start)
	wg.Wait()
	requireAllOK(t, fmt.Sprintf("%d concurrent slow requests", n), results)
	if got := fake.Count("/slow/"); got != n {
		t.Errorf("the provider received %d requests, want %d", got, n)
	}
}
