package callbacks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// LiteLLM's /health/services test of a logging callback (D79): it makes a
// mock completion (model openai/litellm-mock-response-model, user
// "litellm:/health/services", answer "This is a mock response") that every
// success callback logs; for langfuse it first checks the credentials
// (the SDK's auth_check: GET /api/public/projects).

// MockModel and MockUser are the mock request's model and user.
const (
	MockModel = "litellm-mock-response-model"
	MockUser  = "litellm:/health/services"
)

// TestEvent logs a mock successful request through the callbacks
// configured for successes, as LiteLLM's mock completion does.
func (m *Manager) TestEvent() {
	now := time.Now()
	m.Sink()(outcome.Try{CallID: newUUID(), ModelGroup: MockModel, RequestedModel: MockModel, Model: MockModel, Provider: "openai",
		Endpoint: "chat", Route: "/chat/completions", EndUser: MockUser, Status: 200, PromptTokens: 10, CompletionTokens: 20, TotalTokens: 30,
		Start: now, End: now, Answer: outcome.AnswerSent})
}

// LangfuseAuthCheck checks the langfuse callback's credentials against
// its host, as the Langfuse SDK's auth_check does.
func (m *Manager) LangfuseAuthCheck(ctx context.Context) error {
	lf := m.settings.Load().Langfuse
	if lf == nil || lf.PublicKey == "" || lf.SecretKey == "" {
		return fmt.Errorf("langfuse: LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are not set")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(lf.Host, "/")+"/api/public/projects", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(lf.PublicKey+":"+lf.SecretKey)))
	resp, err := m.client.Do(req)
	if err != nil {
		return fmt.Errorf("langfuse: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("langfuse: auth check failed: status %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

// newUUID is a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
