package keys

import (
	"context"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// general_settings.disable_reset_budget (D90): past budget_reset_at the
// key's budget period does not restart (its spend stays, it stays refused)
// until the setting is lifted — on the embedded store and on PostgreSQL.
func TestDisableResetBudget(t *testing.T) {
	for name, open := range keyStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := clock
			ks := open(t)
			s := clockService(t, ks, &now)
			s.SetDisableResetBudget(true)
			key := generate(t, s, `{"max_budget":1,"budget_duration":"1h"}`)
			tok := keystore.HashKey(key)
			s.Record(SpendEvent{KeyToken: tok, Cost: 2})
			must(t, s.flush(ctx))
			now = now.Add(2 * time.Hour)
			s.resetDue(ctx)
			if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e == nil || e.Type != "budget_exceeded" {
				t.Fatalf("past budget_reset_at with disable_reset_budget: %+v", e)
			}
			if k, err := ks.GetKey(ctx, tok); err != nil || k.Spend != 2 {
				t.Fatalf("stored: %+v %v", k, err)
			}
			s.SetDisableResetBudget(false)
			s.resetDue(ctx)
			if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e != nil {
				t.Fatalf("the setting lifted: %+v", e)
			}
		})
	}
}
