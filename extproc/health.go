package extproc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/upstream"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// healthTimeout bounds one deployment's check.
const healthTimeout = 30 * time.Second

// healthClient sends the checks to the gateway's own Envoy listener: the
// checks take the data path a client's request takes (Envoy, the attempt
// filter, the provider); no Go client talks to a provider.
var healthClient = &http.Client{Timeout: healthTimeout}

type healthEndpoint struct {
	Model      string `json:"model"`
	ModelGroup string `json:"model_name"`
	ID         string `json:"model_id"`
	APIBase    string `json:"api_base,omitempty"`
	Error      string `json:"error,omitempty"`
}

// healthCheck is /health: one minimal request to every deployment (chat, or
// embeddings for mode: embedding), pinned to it with a signed ticket; LiteLLM's
// answer shape. Wildcard deployments are not checked (no concrete model).
func (s *Server) healthCheck(st *State) map[string]any {
	var mu sync.Mutex
	healthy, unhealthy := []healthEndpoint{}, []healthEndpoint{}
	var wg sync.WaitGroup
	for i := range st.Cfg.Models {
		d := &st.Cfg.Models[i]
		if d.Wildcard {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ep := healthEndpoint{Model: d.Params.Model, ModelGroup: d.ModelName, ID: d.ID, APIBase: upstream.Redact(upstream.APIBase(d))}
			if msg := s.checkDeployment(st, d); msg != "" {
				ep.Error = msg
				mu.Lock()
				unhealthy = append(unhealthy, ep)
				mu.Unlock()
				return
			}
			mu.Lock()
			healthy = append(healthy, ep)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return map[string]any{"healthy_endpoints": healthy, "unhealthy_endpoints": unhealthy,
		"healthy_count": len(healthy), "unhealthy_count": len(unhealthy)}
}

// checkDeployment returns "" when the deployment answered 2xx, else the error.
func (s *Server) checkDeployment(st *State, d *configDeployment) string {
	path, body := "/v1/chat/completions", map[string]any{"model": d.ModelName, "max_tokens": 1,
		"messages": []any{map[string]any{"role": "user", "content": "ping"}}}
	ep := llmgatev1.Endpoint_ENDPOINT_CHAT
	if d.Info.Mode == "embedding" {
		path, body = "/v1/embeddings", map[string]any{"model": d.ModelName, "input": "ping"}
		ep = llmgatev1.Endpoint_ENDPOINT_EMBEDDINGS
	}
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", s.SelfURL+path, bytes.NewReader(b))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set(contract.FallbackHeader, st.signTicket(fallbackTicket{Kind: pinKind, Deployment: d.ID, Group: d.ModelName,
		Expires: time.Now().Add(healthTimeout).Unix(), Endpoint: int32(ep)}))
	resp, err := healthClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return ""
	}
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(out, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	return resp.Status
}
