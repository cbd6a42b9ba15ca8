package e2e

import (
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// general_settings.disable_reset_budget through the gateway (D90), on the
// embedded store and on PostgreSQL: two gateways, one with the setting,
// each with a key over its budget and budget_duration 2s; once the other
// gateway's key is served again (its period restarted), the key of the
// gateway with the setting is still refused.
func TestDisableResetBudget(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	for _, store := range []string{"embedded", "postgres"} {
		t.Run(store, func(t *testing.T) {
			start := func(extra string) *Gateway {
				db := ""
				if store == "postgres" {
					db = pg.NewDatabase(t)
				}
				return startGateway(t, keysConfig(fake.URL(), db)+extra, "LLMGATE_DATA_DIR="+t.TempDir())
			}
			resets, kept := keyAPI{t, start("")}, keyAPI{t, start("  disable_reset_budget: true\n")}
			spent := func(k keyAPI) string {
				key, _ := k.generate(`{"max_budget":0.000001,"budget_duration":"2s"}`)
				if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
					t.Fatalf("the first request: %d %v", st, e)
				}
				for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
					if st, e, _ := k.chat(key, "gpt-x"); st == 400 && e["type"] == "budget_exceeded" {
						return key
					}
					if time.Now().After(deadline) {
						t.Fatalf("the key was not refused over its budget within 10 s")
					}
				}
			}
			rk, kk := spent(resets), spent(kept)
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				if st, _, _ := resets.chat(rk, "gpt-x"); st == 200 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("without disable_reset_budget the budget did not restart within 20 s")
				}
			}
			time.Sleep(2 * time.Second) // one more period and batch tick for the other gateway
			if st, e, _ := kept.chat(kk, "gpt-x"); st != 400 || e["type"] != "budget_exceeded" {
				t.Fatalf("with disable_reset_budget: %d %v, want 400 budget_exceeded", st, e)
			}
			if kept.spend(kk) == 0 {
				t.Fatalf("with disable_reset_budget the key's spend was set back to 0")
			}
		})
	}
}
