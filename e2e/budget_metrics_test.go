package e2e

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestBudgetGaugesFollowSpend: LiteLLM's key and team budget gauges, scraped
// by a real Prometheus, show each key's and team's max budget and what is
// left of it after requests through Envoy — max_budget minus the spend that
// /key/info reports — and +Inf for a key without a budget.
func TestBudgetGaugesFollowSpend(t *testing.T) {
	promBin := needPrometheus(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	metricsPort := freePort(t)
	cfg := strings.Replace(keysConfig(fake.URL(), ""), "general_settings:", "litellm_settings:\n  callbacks: [\"prometheus\"]\ngeneral_settings:", 1)
	g := startGateway(t, cfg, "PROMETHEUS_METRICS_PORT="+strconv.Itoa(metricsPort), "LLMGATE_DATA_DIR="+t.TempDir())
	prom := startPrometheus(t, promBin, fmt.Sprintf("127.0.0.1:%d", metricsPort))
	k := keyAPI{t: t, g: g}
	if st, m := k.call("POST", "/team/new", master, `{"team_id":"budget-team","team_alias":"Budget Team","max_budget":50}`); st != 200 {
		t.Fatalf("/team/new: %d %v", st, m)
	}
	key, token := k.generate(`{"key_alias":"ci-key","max_budget":10,"team_id":"budget-team"}`)
	_, free := k.generate(`{"key_alias":"free-key"}`)
	for i := 0; i < 3; i++ {
		if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
			t.Fatalf("chat %d: %d %v", i, st, e)
		}
	}
	var spend float64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if spend = k.spend(key); spend > 0 || time.Now().After(deadline) {
			break
		}
	}
	if spend <= 0 {
		t.Fatal("the key recorded no spend")
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		spend = k.spend(key) // the spend sink may still be recording
		want := map[string]float64{
			`litellm_api_key_max_budget_metric{hashed_api_key="` + token + `",api_key_alias="ci-key"}`:        10,
			`litellm_remaining_api_key_budget_metric{hashed_api_key="` + token + `",api_key_alias="ci-key"}`:  10 - spend,
			`litellm_team_max_budget_metric{team="budget-team",team_alias="Budget Team"}`:                     50,
			`litellm_remaining_team_budget_metric{team="budget-team",team_alias="Budget Team"}`:               50 - spend,
			`litellm_remaining_api_key_budget_metric{hashed_api_key="` + free + `",api_key_alias="free-key"}`: math.Inf(1),
		}
		var diffs []string
		for q, w := range want {
			got, ok := prom.query(t, q)
			if !ok || math.Abs(got-w) > 1e-9 && !(math.IsInf(w, 1) && math.IsInf(got, 1)) {
				diffs = append(diffs, fmt.Sprintf("%s = %v (present %v), want %v", q, got, ok, w))
			}
		}
		if len(diffs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus disagrees (key spend %v):\n%s", spend, strings.Join(diffs, "\n"))
		}
		time.Sleep(time.Second)
	}
}
