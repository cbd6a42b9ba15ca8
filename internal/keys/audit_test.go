package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store"
)

// TestAuditLogRoutes (D79): with store_audit_logs, /key/generate,
// /key/update, /key/block, /key/regenerate, /key/delete, /team/new,
// /team/update, /team/delete, /user/new and /user/delete leave the
// LiteLLM_AuditLog rows LiteLLM writes (action, table, object id, before
// and updated values, changed_by, changed_by_api_key), on both stores and
// across a restart; GET /audit pages and filters them, GET /audit/{id}
// answers one; the audit_log_callbacks sink gets each row; off, nothing is
// written; no raw key is logged.
func TestAuditLogRoutes(t *testing.T) { forAuditStores(t, testAuditLogRoutes) }

// auditRig is the audit tests' set-up: a ticking service on one kind of
// key store, the master key's caller, a restart on the same store.
type auditRig struct {
	t      *testing.T
	open   func(t *testing.T) keystore.Store
	ks     keystore.Store
	s      *Service
	master Caller
}

// forAuditStores runs fn on a rig of each kind of key store.
func forAuditStores(t *testing.T, fn func(r *auditRig)) {
	for name, open := range keyStores(t) {
		t.Run(name, func(t *testing.T) {
			ks := open(t)
			fn(&auditRig{t: t, open: open, ks: ks, s: tickingService(t, ks), master: Caller{Admin: true, MasterHash: keystore.HashKey("sk-master")}})
		})
	}
}

// call is a management request that must answer want; its JSON answer.
func (r *auditRig) call(method, path, body string, c Caller, want int) map[string]any {
	r.t.Helper()
	st, out := r.s.Handle(context.Background(), method, path, []byte(body), c)
	if st != want {
		r.t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, st, out, want)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	return m
}

// restart stops the service and its store once the audit rows are written,
// and starts both again on the same data (stopped at the test's end).
func (r *auditRig) restart() *Service {
	r.s.WaitAuditLog(context.Background())
	r.s.Close()
	r.ks.Close()
	r.ks = r.open(r.t)
	r.t.Cleanup(func() { r.ks.Close() })
	r.s = tickingService(r.t, r.ks)
	r.t.Cleanup(func() { r.s.Close() })
	return r.s
}

func testAuditLogRoutes(r *auditRig) {
	t, s, master := r.t, r.s, r.master
	ctx := context.Background()
	s.SetSaltKey("salt-1") // callback credentials stored encrypted (D74)
	do := func(method, path, body string, c Caller) map[string]any {
		t.Helper()
		return r.call(method, path, body, c, 200)
	}
	// Off: no row.
	raw0 := do("POST", "/key/generate", `{"key_alias":"before-on"}`, master)["key"].(string)
	var mu sync.Mutex
	var sunk []keystore.AuditLog
	s.SetAuditLog(true, func(l keystore.AuditLog) { mu.Lock(); sunk = append(sunk, l); mu.Unlock() })

	gen := do("POST", "/key/generate", `{"key_alias":"app","max_budget":10,"user_id":"u-1"}`, master)
	raw, tok := gen["key"].(string), gen["token_id"].(string)
	do("POST", "/key/update", `{"key":"`+raw+`","max_budget":5}`, master)
	do("POST", "/key/block", `{"key":"`+tok+`"}`, master)
	do("POST", "/key/unblock", `{"key":"`+tok+`"}`, master)
	// A virtual key acting: changed_by is its user_id, LiteLLM-Changed-By
	// only when its metadata (or its team's) allows it; the master key's is
	// LiteLLM's proxy admin name, whatever the header says.
	adminKey := do("POST", "/key/generate", `{"user_id":"ops-admin"}`, master)["token_id"].(string)
	if got := s.changedBy(Caller{Token: adminKey, ChangedBy: "someone@example.com"}); got != "ops-admin" {
		t.Errorf("changed_by without the opt-in: %q", got)
	}
	do("POST", "/key/update", `{"key":"`+adminKey+`","metadata":{"allow_litellm_changed_by_header":true}}`, master)
	if got := s.changedBy(Caller{Token: adminKey, ChangedBy: "someone@example.com"}); got != "someone@example.com" {
		t.Errorf("changed_by with the opt-in: %q", got)
	}
	if got := s.changedBy(Caller{Admin: true, ChangedBy: "someone@example.com"}); got != "default_user_id" {
		t.Errorf("the master key's changed_by: %q", got)
	}
	team := do("POST", "/team/new", `{"team_alias":"blue"}`, master)
	tid := team["team_id"].(string)
	do("POST", "/team/update", `{"team_id":"`+tid+`","max_budget":3,"metadata":{"logging":[{"callback_name":"langfuse","callback_vars":{"langfuse_secret_key":"lf-secret-in-clear"}}]}}`, master)
	user := do("POST", "/user/new", `{"user_alias":"bob"}`, master)
	uid := user["user_id"].(string)
	do("POST", "/user/delete", `{"user_ids":["`+uid+`"]}`, master)
	do("POST", "/team/delete", `{"team_ids":["`+tid+`"]}`, master)
	reg := do("POST", "/key/"+url.PathEscape(raw)+"/regenerate", `{}`, master)
	newTok := reg["token_id"].(string)
	do("POST", "/key/delete", `{"keys":["`+newTok+`"]}`, master)
	// Refused changes leave nothing.
	if st, _ := s.Handle(ctx, "POST", "/key/update", []byte(`{"key":"sk-nope","max_budget":1}`), master); st == 200 {
		t.Fatal("update of an unknown key answered 200")
	}
	// A restart: the rows are in the store.
	s = r.restart()
	page := do("GET", "/audit?page_size=100&sort_order=asc", "", master)
	rows := page["audit_logs"].([]any)
	type row = map[string]any
	want := []struct{ action, table, object string }{
		{"created", AuditKeyTable, tok}, {"updated", AuditKeyTable, tok}, {"blocked", AuditKeyTable, tok}, {"unblocked", AuditKeyTable, tok},
		{"created", AuditKeyTable, adminKey}, {"updated", AuditKeyTable, adminKey},
		{"created", AuditTeamTable, tid}, {"updated", AuditTeamTable, tid}, {"created", AuditUserTable, uid}, {"deleted", AuditUserTable, uid},
		{"deleted", AuditTeamTable, tid}, {"rotated", AuditKeyTable, tok}, {"deleted", AuditKeyTable, newTok},
	}
	if len(rows) != len(want) || page["total"].(float64) != float64(len(want)) {
		t.Fatalf("%d rows (total %v), want %d: %v", len(rows), page["total"], len(want), rows)
	}
	for i, w := range want {
		r := rows[i].(row)
		if r["action"] != w.action || r["table_name"] != w.table || r["object_id"] != w.object || len(r["id"].(string)) != 36 || r["updated_at"] == "" {
			t.Errorf("row %d: %v, want %v", i, r, w)
		}
		who, key := "default_user_id", keystore.HashKey("sk-master")
		if r["changed_by"] != who || r["changed_by_api_key"] != key {
			t.Errorf("row %d: changed_by %v, changed_by_api_key %v; want %s, %s", i, r["changed_by"], r["changed_by_api_key"], who, key)
		}
	}
	created, updated := rows[0].(row), rows[1].(row)
	if uv := created["updated_values"].(row); uv["key_alias"] != "app" || uv["token_id"] != tok || uv["key"] != nil || uv["token"] != nil || created["before_value"] != nil {
		t.Errorf("created: updated_values %v, before_value %v (no raw key)", uv, created["before_value"])
	}
	if uv, bv := updated["updated_values"].(row), updated["before_value"].(row); uv["max_budget"] != 5.0 || bv["max_budget"] != 10.0 || bv["token"] != tok {
		t.Errorf("updated: updated_values %v, before_value %v", uv, bv)
	}
	if uv := rows[2].(row)["updated_values"].(row); uv["blocked"] != true {
		t.Errorf("blocked: %v", uv)
	}
	if del := rows[12].(row); len(del["updated_values"].(row)) != 0 || del["before_value"].(row)["token"] != newTok {
		t.Errorf("deleted key: %v", del)
	}
	if rot := rows[11].(row); rot["updated_values"].(row)["key"] != nil || rot["before_value"].(row)["token"] != tok {
		t.Errorf("rotated: %v", rot)
	}
	for _, r := range rows {
		if b, _ := json.Marshal(r); json.Valid(b) && (strings.Contains(string(b), raw) || strings.Contains(string(b), raw0) || strings.Contains(string(b), "lf-secret-in-clear")) {
			t.Fatalf("a raw key or a callback credential in clear in the audit log: %s", b)
		}
	}
	if uv := rows[7].(row)["updated_values"].(row); uv["max_budget"] != 3.0 || !strings.Contains(fmt.Sprint(uv["metadata"]), "litellm_enc::") {
		t.Errorf("team update: %v", uv)
	}
	mu.Lock()
	if len(sunk) != len(want) || sunk[0].ObjectID != tok || sunk[len(sunk)-1].Action != "deleted" {
		t.Errorf("audit_log_callbacks got %d rows, want %d", len(sunk), len(want))
	}
	mu.Unlock()

	// Filters, pages, one by id.
	f := do("GET", "/audit?table_name=LiteLLM_TeamTable&action=updated", "", master)
	if f["total"].(float64) != 1 || f["audit_logs"].([]any)[0].(row)["object_id"] != tid {
		t.Errorf("filtered: %v", f)
	}
	p2 := do("GET", "/audit?page=2&page_size=5", "", master)
	if p2["page"].(float64) != 2 || p2["page_size"].(float64) != 5 || p2["total_pages"].(float64) != 3 || len(p2["audit_logs"].([]any)) != 5 {
		t.Errorf("page 2: %v", p2)
	}
	if newest := do("GET", "/audit?page_size=1", "", master)["audit_logs"].([]any)[0].(row); newest["action"] != "deleted" || newest["object_id"] != newTok {
		t.Errorf("default order is newest first: %v", newest)
	}
	id := rows[3].(row)["id"].(string)
	if one := do("GET", "/audit/"+id, "", master); one["action"] != "unblocked" || one["object_id"] != tok {
		t.Errorf("/audit/{id}: %v", one)
	}
	if st, _ := s.Handle(ctx, "GET", "/audit/no-such-id", nil, master); st != 404 {
		t.Errorf("unknown id: %d", st)
	}
	if st, _ := s.Handle(ctx, "GET", "/audit", nil, Caller{Token: adminKey}); st != 401 {
		t.Errorf("a virtual key reading the audit log: %d", st)
	}
	if st, _ := s.Handle(ctx, "GET", "/audit?page_size=1000", nil, master); st != 422 {
		t.Errorf("page_size 1000: %d", st)
	}
}

// tickingService is newService with a clock a millisecond further at each
// reading, so that the audit rows' updated_at order them.
func tickingService(t *testing.T, ks keystore.Store) *Service {
	t.Helper()
	var mu sync.Mutex
	now := clock
	tick := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
	s, err := New(context.Background(), Options{Store: ks, Counters: store.NewMemory(tick), BatchWriteAt: time.Hour, CacheTTL: time.Hour, Now: tick})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAuditLogModelRoutes (D79): /model/new, /model/update and
// /model/delete (store_model_in_db) leave LiteLLM_ProxyModelTable rows:
// the stored row (its credentials encrypted, never in clear) after and
// before the change.
func TestAuditLogModelRoutes(t *testing.T) {
	ctx := context.Background()
	s := tickingService(t, embedded(t))
	defer s.Close()
	s.SetModelSettings(ModelSettings{StoreInDB: true, Secret: "k", Apply: func(context.Context) error { return nil }})
	s.SetAuditLog(true, nil)
	master := Caller{Admin: true, MasterHash: keystore.HashKey("sk-master")}
	for _, c := range []struct{ path, body string }{
		{"/model/new", `{"model_name":"db-model","litellm_params":{"model":"openai/gpt-4o","api_key":"sk-provider-secret"},"model_info":{"id":"m-1"}}`},
		{"/model/update", `{"model_info":{"id":"m-1"},"litellm_params":{"rpm":10}}`},
		{"/model/delete", `{"id":"m-1"}`},
	} {
		if st, out := s.Handle(ctx, "POST", c.path, []byte(c.body), master); st != 200 {
			t.Fatalf("%s: %d %s", c.path, st, out)
		}
	}
	s.WaitAuditLog(ctx)
	st, out := s.Handle(ctx, "GET", "/audit?sort_order=asc&table_name=LiteLLM_ProxyModelTable", nil, master)
	if st != 200 || strings.Contains(string(out), "sk-provider-secret") {
		t.Fatalf("/audit: %d %s", st, out)
	}
	var page struct {
		Logs []map[string]any `json:"audit_logs"`
	}
	_ = json.Unmarshal(out, &page)
	if len(page.Logs) != 3 {
		t.Fatalf("rows %s", out)
	}
	for i, action := range []string{"created", "updated", "deleted"} {
		if r := page.Logs[i]; r["action"] != action || r["object_id"] != "m-1" || r["table_name"] != "LiteLLM_ProxyModelTable" {
			t.Errorf("row %d: %v", i, r)
		}
	}
	created := page.Logs[0]["updated_values"].(map[string]any)
	if created["model_name"] != "db-model" || created["litellm_params"].(map[string]any)["api_key"] == nil {
		t.Errorf("created: %v", created)
	}
	if bv := page.Logs[1]["before_value"].(map[string]any); bv["model_id"] != "m-1" {
		t.Errorf("updated: before %v", bv)
	}
	if uv := page.Logs[1]["updated_values"].(map[string]any); uv["litellm_params"].(map[string]any)["rpm"] == nil {
		t.Errorf("updated: after %v", uv)
	}
	if bv := page.Logs[2]["before_value"].(map[string]any); bv["model_id"] != "m-1" {
		t.Errorf("deleted: before %v", bv)
	}
}

// TestAuditQueueOnlyWhenOn (D126): the audit log's queue (4,096 rows, ≈ 670
// KB the heap counts) is made when the log is turned on, not for every key
// service; off, nothing is queued and no writer runs.
func TestAuditQueueOnlyWhenOn(t *testing.T) {
	s := newService(t, embedded(t), t.TempDir())
	defer s.Close()
	s.SetAuditLog(false, nil)
	if q := s.auditor().q; q != nil {
		t.Fatalf("audit log off: a queue of %d rows made", cap(q))
	}
	s.SetAuditLog(true, nil)
	if q := s.auditor().q; cap(q) != auditQueue {
		t.Fatalf("audit log on: queue of %d rows, want %d", cap(q), auditQueue)
	}
}
