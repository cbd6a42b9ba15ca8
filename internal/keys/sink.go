package keys

import (
	"context"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// SpendSink is the spend sink's name on the outcome bus.
const SpendSink = "spend"

// SinkQueue is the spend sink's queue on the outcome bus: large, so that a
// burst never drops spend (a drop is counted in the bus stats).
const SinkQueue = 1 << 16

// OnTry is the spend sink of the outcome bus: a try with a known cost adds
// to its key's, team's and user's spend; its tokens count towards the key's
// tpm_limit. It runs on the bus's goroutine, off the request path.
func (s *Service) OnTry(t outcome.Try) {
	if t.KeyHash == "" && !trackEndUser(t.EndUser) {
		return
	}
	if t.TotalTokens > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.RecordUsage(ctx, t.KeyHash, t.EndUser, int64(t.TotalTokens))
		cancel()
	}
	if !t.CostKnown || t.Status < 200 || t.Status >= 300 {
		return
	}
	end := t.Start.Add(t.Overhead + t.Latency)
	if t.Start.IsZero() {
		end = s.now()
	}
	callType := "acompletion"
	switch t.Endpoint {
	case "embeddings":
		callType = "aembedding"
	case "completions":
		callType = "atext_completion"
	}
	s.Record(SpendEvent{RequestID: t.CallID, CallType: callType, KeyToken: t.KeyHash, TeamID: t.TeamID, UserID: t.UserID,
		EndUser: t.EndUser, Model: t.Model, ModelGroup: t.ModelGroup, ModelID: t.DeploymentID, Provider: t.Provider,
		Cost: t.Cost, PromptTokens: int64(t.PromptTokens), CompletionTokens: int64(t.CompletionTokens), Start: t.Start, End: end,
		Tags: s.keyTags(t.KeyHash)})
}

// keyTags are a key's tags (its metadata.tags, as /key/generate keeps them),
// the spend log's request_tags (D78: /spend/tags sums them).
func (s *Service) keyTags(token string) []string {
	if token == "" {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := s.keys[token]
	if k == nil {
		if a := s.activeTokenLocked(token); a != "" {
			k = s.keys[a]
		}
	}
	if k == nil {
		return nil
	}
	var out []string
	switch v := k.Metadata["tags"].(type) {
	case []string:
		out = append(out, v...)
	case []any:
		for _, x := range v {
			if str, ok := x.(string); ok {
				out = append(out, str)
			}
		}
	}
	return out
}
