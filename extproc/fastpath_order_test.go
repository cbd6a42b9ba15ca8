package extproc

import (
	"io"
	"log/slog"
	"testing"

	"github.com/llmgate/llmgate/config"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// TestFastPlanHeadersOneOrder (D107): the context's response headers (the
// x-ratelimit-* headers of an rpm/tpm config) come in one order in every
// entry of a fast plan, so that the answer plan finds the common headers by
// position (commonMask), not by a search by name per header per entry.
func TestFastPlanHeadersOneOrder(t *testing.T) {
	cfg, err := config.Parse([]byte(limitedModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.UseLimits(NewModuleLimits()) // the module counts rpm: its plans may be fast
	var plan []*llmgatev1.Attempt
	for _, d := range m.Model().Deployments {
		plan = append(plan, &llmgatev1.Attempt{DeploymentId: d.ID, ModelGroup: "gpt", Model: d.Model})
	}
	for range 20 {
		rc := &llmgatev1.RequestContext{CallId: "c", ModelGroup: "gpt", RequestedModel: "gpt", BodyPrepared: true, Attempts: plan,
			ResponseHeaders: map[string]string{
				"x-ratelimit-remaining-requests": "9", "x-ratelimit-limit-requests": "10",
				"x-ratelimit-remaining-tokens": "99", "x-ratelimit-limit-tokens": "100",
				"x-litellm-max-retries": "2", "x-litellm-model-id": "overridden",
			}}
		entries, ok := m.s.fastPlan(m.st, rc)
		if !ok || len(entries) != len(plan) {
			t.Fatalf("not a fast plan (%v, %d entries)", ok, len(entries))
		}
		if _, byPos := commonMask(entries); !byPos {
			t.Fatalf("the entries' headers differ in order:\n%v\n%v", entries[0].headers, entries[1].headers)
		}
		for _, e := range entries {
			if v, _ := headerIn(e.headers, "x-litellm-model-id"); v != "overridden" {
				t.Fatalf("the context's header did not win: %v", e.headers)
			}
		}
	}
}
