package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// spendConfig: gpt-x in the access group "beta", prices on both groups,
// Slack alerting (budget_alerts) to hook, and a store.
func spendConfig(fake, hook, dbURL string) string {
	db := ""
	if dbURL != "" {
		db = "\n  database_url: " + dbURL
	}
	return fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: sk-provider}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002, access_groups: ["beta"]}
  - model_name: other
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-provider}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
general_settings:
  master_key: %[2]s
  proxy_batch_write_at: 1
  alerting: ["slack"]
  alert_types: ["budget_alerts"]
  alert_to_webhook_url:
    budget_alerts: %[3]s/budget%[4]s
`, fake, master, hook, db)
}

func TestKeySpendRoutesEmbedded(t *testing.T) {
	runSpendRoutes(t, func(fake, hook string) *Gateway {
		return startGateway(t, spendConfig(fake, hook, ""), "LLMGATE_DATA_DIR="+t.TempDir())
	})
}

func TestKeySpendRoutesPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	runSpendRoutes(t, func(fake, hook string) *Gateway { return startGateway(t, spendConfig(fake, hook, url)) })
	if v := pg.Exec(t, url, `SELECT count(*) FROM "LiteLLM_VerificationToken" WHERE soft_budget_cooldown`); v != "1" {
		t.Fatalf("keys with soft_budget_cooldown in LiteLLM_VerificationToken: %s", v)
	}
}

// runSpendRoutes: a key allowed through an access group, its soft budget
// crossing posted once as a budget alert, and its spend read back through
// /spend/logs, /spend/keys and /global/spend* — through Envoy.
func runSpendRoutes(t *testing.T, start func(fake, hook string) *Gateway) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	var mu sync.Mutex
	var alerts []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		alerts = append(alerts, r.URL.Path+" "+m["text"])
		mu.Unlock()
	}))
	defer hook.Close()
	g := start(fake.URL(), hook.URL)
	k := keyAPI{t, g}
	// The day the requests begin: a run that crosses midnight UTC spreads them over two days.
	firstDay := time.Now().UTC().Truncate(24 * time.Hour)
	key, token := k.generate(`{"models":["beta"],"soft_budget":0.0001,"key_alias":"soft-key","tags":["soft-app"]}`)
	t.Run("models: [an access group] allows the group's models only", func(t *testing.T) {
		if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
			t.Fatalf("gpt-x through the group: %d %v", st, e)
		}
		if st, e, _ := k.chat(key, "other"); st != 401 || e["type"] != "key_model_access_denied" {
			t.Fatalf("a model outside the group: %d %v", st, e)
		}
	})
	var costs float64
	t.Run("crossing soft_budget: one budget alert, requests go on", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			st, e, h := k.chat(key, "gpt-x")
			if st != 200 {
				t.Fatalf("request %d over the soft budget: %d %v", i, st, e)
			}
			var c float64
			fmt.Sscan(h.Get("x-litellm-response-cost"), &c)
			costs += c
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := len(alerts)
			mu.Unlock()
			if n > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // room for a wrong second alert
		mu.Lock()
		defer mu.Unlock()
		if len(alerts) != 1 || !strings.HasPrefix(alerts[0], "/budget ") || !strings.Contains(alerts[0], "Soft Budget Crossed") || !strings.Contains(alerts[0], "soft-key") {
			t.Fatalf("budget alerts: %q", alerts)
		}
	})
	time.Sleep(2 * time.Second) // the spend batch (proxy_batch_write_at: 1)
	t.Run("spend routes read the batches", func(t *testing.T) {
		var rows []map[string]any
		getJSON := func(path string, into any) {
			t.Helper()
			st, _, b := do(t, "GET", g.URL+path, master, "")
			if st != 200 || json.Unmarshal(b, into) != nil {
				t.Fatalf("%s: %d %s", path, st, b)
			}
		}
		getJSON("/spend/logs?api_key="+key, &rows)
		var sum float64
		for _, r := range rows {
			sum += r["spend"].(float64)
			if r["api_key"] != token || r["model_group"] != "gpt-x" {
				t.Fatalf("spend log row: %v", r)
			}
		}
		if len(rows) != 4 || sum < costs {
			t.Fatalf("/spend/logs: %d rows, spend %v (the last three requests cost %v)", len(rows), sum, costs)
		}
		from := firstDay.Format("2006-01-02")
		end := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
		var days []map[string]any
		getJSON("/spend/logs?start_date="+from+"&end_date="+end.Format("2006-01-02"), &days)
		// the requests' days, then tomorrow's 0 (LiteLLM fills the days up to end_date)
		want := int(end.Sub(firstDay).Hours()/24) + 1
		var byDay float64
		for _, d := range days {
			v, _ := d[token].(float64)
			byDay += v
		}
		if len(days) != want || days[0]["startTime"] != from || byDay < sum-1e-9 || days[len(days)-1]["spend"] != 0.0 {
			t.Fatalf("/spend/logs by day (%d days from %s, the key's logs sum to %v): %v", want, from, sum, days)
		}
		var global map[string]any
		getJSON("/global/spend", &global)
		if s, _ := global["spend"].(float64); s < sum {
			t.Fatalf("/global/spend: %v, the key's logs sum to %v", global, sum)
		}
		var top []map[string]any
		getJSON("/global/spend/keys?limit=5", &top)
		if len(top) == 0 || top[0]["api_key"] != token || top[0]["key_alias"] != "soft-key" {
			t.Fatalf("/global/spend/keys: %v", top)
		}
		var keys []map[string]any
		getJSON("/spend/keys", &keys)
		if len(keys) == 0 || keys[0]["token"] != token || keys[0]["soft_budget_cooldown"] != true {
			t.Fatalf("/spend/keys: %v", keys)
		}
		// The key's tags in its logs' request_tags, summed per tag (D78), and
		// LiteLLM's two User-Agent tags (D84; Go's client here).
		var tags []map[string]any
		getJSON("/spend/tags", &tags)
		wantTags := map[string]bool{"soft-app": true, "User-Agent: Go-http-client": true, "User-Agent: Go-http-client/1.1": true}
		for _, r := range tags {
			if !wantTags[r["individual_request_tag"].(string)] || r["log_count"] != 4.0 || math.Abs(r["total_spend"].(float64)-sum) > 1e-9 {
				t.Fatalf("/spend/tags: %v (the key's 4 logs sum to %v)", tags, sum)
			}
		}
		if len(tags) != len(wantTags) {
			t.Fatalf("/spend/tags: %v, want the tags %v", tags, wantTags)
		}
		if st, _, _ := do(t, "GET", g.URL+"/spend/logs", key, ""); st != 401 {
			t.Fatalf("a virtual key read /spend/logs: %d", st)
		}
	})
}
