package extproc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/upstream"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// healthTimeout bounds one deployment's check on an on-demand /health: the
// client's /health request waits for every check, and Envoy gives the
// request filter at most max_message_timeout (60 s) for it. Background
// checks (background_health.go) wait the configured timeout in full.
const healthTimeout = 55 * time.Second

// healthClient sends the checks to the gateway's own Envoy listener: the
// checks take the data path a client's request takes (Envoy, the attempt
// filter, the provider); no Go client talks to a provider. Each check's
// context carries its timeout.
var healthClient = &http.Client{}

// checkTimeout is how long one check of d may take: model_info.
// health_check_timeout, else HEALTH_CHECK_TIMEOUT_SECONDS (default 60 s);
// an on-demand check at most healthTimeout.
func checkTimeout(st *State, d *configDeployment, onDemand bool) time.Duration {
	t := d.Info.HealthCheckTimeout
	if t <= 0 {
		t = st.Cfg.General.HealthCheckTimeout
	}
	if t <= 0 {
		t = config.DefaultHealthCheckTimeout
	}
	if onDemand && t > healthTimeout {
		t = healthTimeout
	}
	return t
}

type healthEndpoint struct {
	Model      string `json:"model"`
	ModelGroup string `json:"model_name"`
	ID         string `json:"model_id"`
	APIBase    string `json:"api_base,omitempty"`
	Error      string `json:"error,omitempty"`
}

// healthCheck is /health: one minimal request to every deployment (chat, or
// embeddings for mode: embedding), pinned to it with a signed ticket; LiteLLM's
// answer shape. A wildcard deployment is checked only with its
// model_info.health_check_model (it has no callable model of its own, D104).
func (s *Server) healthCheck(st *State, onDemand bool) map[string]any {
	var mu sync.Mutex
	healthy, unhealthy := []healthEndpoint{}, []healthEndpoint{}
	var wg sync.WaitGroup
	for i := range st.Cfg.Models {
		d := &st.Cfg.Models[i]
		if d.Wildcard && d.Info.HealthCheckModel == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ep := healthEndpoint{Model: d.Params.Model, ModelGroup: d.ModelName, ID: d.ID, APIBase: upstream.Redact(upstream.APIBase(d))}
			if msg := s.checkDeployment(st, d, checkTimeout(st, d, onDemand)); msg != "" {
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
func (s *Server) checkDeployment(st *State, d *configDeployment, timeout time.Duration) string {
	path, body := "/v1/chat/completions", map[string]any{"model": d.ModelName, "max_tokens": 1,
		"messages": []any{map[string]any{"role": "user", "content": "ping"}}}
	ep := llmgatev1.Endpoint_ENDPOINT_CHAT
	if d.Info.Mode == "embedding" {
		path, body = "/v1/embeddings", map[string]any{"model": d.ModelName, "input": "ping"}
		ep = llmgatev1.Endpoint_ENDPOINT_EMBEDDINGS
	}
	ct := "application/json"
	b, _ := json.Marshal(body)
	if rp, rb, rct, rep, ok := routeHealthCheck(d.Info.Mode, d.ModelName); ok {
		path, b, ct, ep = rp, rb, rct, rep // the mode's own route, as LiteLLM checks it (D130)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", s.SelfURL+path, bytes.NewReader(b))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("content-type", ct)
	req.Header.Set(contract.FallbackHeader, st.signTicket(fallbackTicket{Kind: pinKind, Deployment: d.ID, Group: d.ModelName, HealthModel: d.Info.HealthCheckModel,
		// The ticket is read once, when the check reaches the request
		// filter: it need not outlive the check, and must not outlive the
		// nonce memory (ticketTTL).
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
