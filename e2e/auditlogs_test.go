package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/fakes3"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// TestAuditLogs (D79): with store_audit_logs and audit_log_callbacks
// ["s3_v2"], a /key/generate, /key/update and /key/delete through Envoy
// leave LiteLLM_AuditLog rows (read back with GET /audit, and on
// PostgreSQL from LiteLLM's table) and one s3 object each under
// audit_logs/<date>/ with the right fields, on the embedded store and on
// PostgreSQL; the raw key is in neither.
func TestAuditLogs(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { testAuditLogs(t, "", nil) })
	t.Run("postgres", func(t *testing.T) {
		pg := pgtest.Start(t)
		url := pg.NewDatabase(t)
		testAuditLogs(t, url, func(sql string) string { return pg.Exec(t, url, sql) })
	})
}

func testAuditLogs(t *testing.T, databaseURL string, query func(string) string) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	s3 := fakes3.Start(t, "audit-bucket")
	db := ""
	if databaseURL != "" {
		db = "\n  database_url: " + databaseURL
	}
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
litellm_settings:
  store_audit_logs: true
  audit_log_callbacks: ["s3_v2"]
  s3_audit_callback_params:
    s3_bucket_name: audit-bucket
    s3_endpoint_url: %[2]s
    s3_aws_access_key_id: AKIDAUDIT
    s3_aws_secret_access_key: audit-secret
    s3_path: litellm-audit
general_settings:
  master_key: %[3]s%[4]s
`, fake.URL(), s3.URL, master, db)
	g := startGateway(t, cfg, "DEFAULT_S3_FLUSH_INTERVAL_SECONDS=0.2", "LLMGATE_DATA_DIR="+t.TempDir())
	k := keyAPI{t: t, g: g}
	raw, tok := k.generate(`{"key_alias":"audited","max_budget":10}`)
	if st, m := k.call("POST", "/key/update", master, `{"key":"`+raw+`","max_budget":5}`); st != 200 {
		t.Fatalf("/key/update: %d %v", st, m)
	}
	if st, m := k.call("POST", "/key/delete", master, `{"keys":["`+raw+`"]}`); st != 200 {
		t.Fatalf("/key/delete: %d %v", st, m)
	}

	// The rows, oldest first.
	var rows []any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, page := k.call("GET", "/audit?sort_order=asc&table_name=LiteLLM_VerificationToken", master, "")
		if st != 200 {
			t.Fatalf("GET /audit: %d %v", st, page)
		}
		rows, _ = page["audit_logs"].([]any)
		if len(rows) >= 3 || time.Now().After(deadline) {
			break
		}
	}
	if len(rows) != 3 {
		t.Fatalf("audit rows %v", rows)
	}
	masterHash := "litellm_proxy_master_key" // LiteLLM 1.108 writes the alias, never the hash (D128)
	for i, action := range []string{"created", "updated", "deleted"} {
		r := rows[i].(map[string]any)
		if r["action"] != action || r["table_name"] != "LiteLLM_VerificationToken" || r["object_id"] != tok ||
			r["changed_by"] != "default_user_id" || r["changed_by_api_key"] != masterHash || len(r["id"].(string)) != 36 {
			t.Errorf("row %d: %v", i, r)
		}
	}
	created, updated, deleted := rows[0].(map[string]any), rows[1].(map[string]any), rows[2].(map[string]any)
	if uv, _ := created["updated_values"].(map[string]any); uv["key_alias"] != "audited" || uv["token_id"] != tok || created["before_value"] != nil {
		t.Errorf("created: %v", created)
	}
	if uv, _ := updated["updated_values"].(map[string]any); uv["max_budget"] != 5.0 {
		t.Errorf("updated: updated_values %v", updated["updated_values"])
	}
	if bv, _ := updated["before_value"].(map[string]any); bv["max_budget"] != 10.0 || bv["key_alias"] != "audited" {
		t.Errorf("updated: before_value %v", updated["before_value"])
	}
	if bv, _ := deleted["before_value"].(map[string]any); bv["token"] != tok || bv["max_budget"] != 5.0 {
		t.Errorf("deleted: before_value %v", deleted["before_value"])
	}
	if st, one := k.call("GET", "/audit/"+deleted["id"].(string), master, ""); st != 200 || one["action"] != "deleted" {
		t.Errorf("GET /audit/{id}: %d %v", st, one)
	}
	if query != nil {
		if n := query(`SELECT count(*) FROM "LiteLLM_AuditLog" WHERE object_id = '` + tok + `' AND changed_by_api_key = '` + masterHash + `'`); strings.TrimSpace(n) != "3" {
			t.Errorf("LiteLLM_AuditLog rows of the key: %q", n)
		}
	}

	// The s3 objects: one a row, LiteLLM's key layout and payload.
	objs := s3Objects(t, g, s3, "audit-bucket", 3)
	byAction := map[string]map[string]any{}
	for key, p := range objs {
		id, _ := p["id"].(string)
		if !regexp.MustCompile(`^litellm-audit/audit_logs/\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}_` + regexp.QuoteMeta(id) + `\.json$`).MatchString(key) {
			t.Errorf("object key %s (id %s)", key, id)
		}
		if p["object_id"] != tok || p["table_name"] != "LiteLLM_VerificationToken" || p["changed_by"] != "default_user_id" || p["changed_by_api_key"] != masterHash {
			t.Errorf("object %s: %v", key, p)
		}
		byAction[p["action"].(string)] = p
	}
	if uv, _ := byAction["updated"]["updated_values"].(string); !strings.Contains(uv, `"max_budget":5`) {
		t.Errorf("updated object's updated_values %q", uv)
	}
	if bv, _ := byAction["deleted"]["before_value"].(string); !strings.Contains(bv, tok) {
		t.Errorf("deleted object's before_value %q", bv)
	}
	for key, p := range objs {
		if strings.Contains(fmt.Sprint(p), raw) {
			t.Errorf("object %s carries the raw key", key)
		}
	}
	for _, r := range rows {
		if strings.Contains(fmt.Sprint(r), raw) {
			t.Errorf("row carries the raw key: %v", r)
		}
	}
}
