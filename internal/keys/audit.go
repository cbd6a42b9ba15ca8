package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// Audit logs (litellm_settings.store_audit_logs, D79): every management
// change the routes below make leaves a LiteLLM_AuditLog row, as LiteLLM's
// management endpoints write them (KeyManagementEventHooks and the team and
// user endpoints): its id (a UUID), updated_at, changed_by (the calling
// key's user_id, else LiteLLM's proxy admin name; LiteLLM-Changed-By only
// when the calling key or its team has allow_litellm_changed_by_header in
// its metadata, as LiteLLM ≥ 1.84 takes it), changed_by_api_key (the
// calling key's sha256), action, table_name, object_id, before_value (the
// row before) and updated_values (the request's fields, or the new row).
// Rows are written by one goroutine after the answer (LiteLLM creates a
// task), never on the LLM request path; a row that cannot be written is
// logged, as LiteLLM does.

// LiteLLM's table names (LitellmTableNames) and its proxy admin's name.
const (
	AuditKeyTable  = "LiteLLM_VerificationToken"
	AuditTeamTable = "LiteLLM_TeamTable"
	AuditUserTable = "LiteLLM_UserTable"
	// AuditModelTable: /model/new|update|delete (store_model_in_db).
	AuditModelTable = "LiteLLM_ProxyModelTable"
	proxyAdminName  = "default_user_id"
	// auditQueue bounds the rows waiting to be written.
	auditQueue = 4096
)

// AuditSink receives each row once stored (the audit_log_callbacks).
type AuditSink func(keystore.AuditLog)

// auditor writes the rows of one Service.
type auditor struct {
	mu    sync.Mutex
	on    bool
	after AuditSink
	q     chan keystore.AuditLog
	wg    sync.WaitGroup // rows queued and not yet written
	once  sync.Once
}

var auditors sync.Map // *Service → *auditor

func (s *Service) auditor() *auditor {
	a, _ := auditors.LoadOrStore(s, &auditor{})
	return a.(*auditor)
}

// SetAuditLog turns the audit log on or off (a config load): on writes a
// row for each management change to the store (which must keep audit logs:
// both of llmgate's do) and then hands it to after (nil: nobody).
func (s *Service) SetAuditLog(on bool, after AuditSink) {
	a := s.auditor()
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := s.o.Store.(keystore.AuditStore); !ok {
		on = false
	}
	a.on, a.after = on, after
	if on {
		// The queue (≈ 670 KB) only once the log is on (D126): set under
		// a.mu, as on is, which auditBegin reads before any row is queued.
		a.once.Do(func() {
			a.q = make(chan keystore.AuditLog, auditQueue)
			go s.auditWriter(a)
		})
	}
}

// WaitAuditLog waits until every row queued so far is written (tests, and
// a drain), at most until ctx ends.
func (s *Service) WaitAuditLog(ctx context.Context) {
	a := s.auditor()
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// closeAudit writes what is queued (at most 10 s) and stops the writer.
func (s *Service) closeAudit() {
	v, ok := auditors.LoadAndDelete(s)
	if !ok {
		return
	}
	a := v.(*auditor)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	a.mu.Lock()
	a.on = false
	a.mu.Unlock()
}

func (s *Service) auditWriter(a *auditor) {
	as := s.o.Store.(keystore.AuditStore)
	for l := range a.q {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := as.AddAuditLog(ctx, &l)
		cancel()
		if err != nil {
			s.log.Error("audit log: a row not written", "action", l.Action, "table_name", l.TableName, "object_id", l.ObjectID, "error", err)
		}
		a.mu.Lock()
		after := a.after
		a.mu.Unlock()
		if after != nil {
			after(l) // LiteLLM hands rows to the callbacks whether or not the database took them
		}
		a.wg.Done()
	}
}

// auditCall is one management request's audit: what it changes, read
// before it runs.
type auditCall struct {
	s      *Service
	a      *auditor
	name   string
	req    map[string]any
	c      Caller
	table  string
	before map[string]json.RawMessage // object id → its row before
	ids    []string                   // object ids in the request's order
}

// auditedRoutes are the management routes that change a key, a team or a
// user, and their table.
var auditedRoutes = map[string]string{
	"generate": AuditKeyTable, "update": AuditKeyTable, "delete": AuditKeyTable, "regenerate": AuditKeyTable,
	"block": AuditKeyTable, "unblock": AuditKeyTable,
	"team/new": AuditTeamTable, "team/update": AuditTeamTable, "team/delete": AuditTeamTable,
	"user/new": AuditUserTable, "user/update": AuditUserTable, "user/delete": AuditUserTable,
	"model/new": AuditModelTable, "model/update": AuditModelTable, "model/delete": AuditModelTable,
	"team/member_add": AuditTeamMembershipTable, "team/member_delete": AuditTeamMembershipTable,
	"team/member_update": AuditTeamMembershipTable,
}

// Handle serves one management request; it returns the status and JSON
// body. With the audit log on, a change that succeeded leaves its rows.
func (s *Service) Handle(ctx context.Context, method, rawPath string, body []byte, c Caller) (int, []byte) {
	if path, query, _ := strings.Cut(rawPath, "?"); isAuditPath(path) {
		q, _ := url.ParseQuery(query)
		return s.handleAudit(ctx, method, path, q, c)
	}
	ac := s.auditBegin(ctx, method, rawPath, body, c)
	status, out := s.handle(ctx, method, rawPath, body, c)
	if ac != nil && status/100 == 2 {
		ac.finish(ctx, out)
	}
	return status, out
}

func (s *Service) auditBegin(ctx context.Context, method, rawPath string, body []byte, c Caller) *auditCall {
	a := s.auditor()
	a.mu.Lock()
	on := a.on
	a.mu.Unlock()
	if !on || method != "POST" || !c.Admin && c.Token == "" {
		return nil
	}
	name, _ := route(rawPath)
	table, ok := auditedRoutes[name]
	if !ok {
		return nil
	}
	var req map[string]any
	if len(strings.TrimSpace(string(body))) > 0 && json.Unmarshal(body, &req) != nil {
		return nil // refused as invalid JSON
	}
	if req == nil {
		req = map[string]any{}
	}
	if name == "regenerate" {
		path, _, _ := strings.Cut(rawPath, "?")
		if k, ok := strings.CutSuffix(strings.TrimPrefix(strings.TrimRight(path, "/"), "/key/"), "/regenerate"); ok {
			if dk, err := url.PathUnescape(k); err == nil {
				req["key"] = dk
			}
		}
	}
	ac := &auditCall{s: s, a: a, name: name, req: req, c: c, table: table, before: map[string]json.RawMessage{}}
	if name == "model/update" || name == "model/delete" {
		// The stored row (LiteLLM_ProxyModelTable's: its credentials
		// encrypted, as LiteLLM's rows hold them).
		id, _ := req["id"].(string)
		if info, _ := req["model_info"].(map[string]any); name == "model/update" {
			id, _ = info["id"].(string)
		}
		if row := s.modelRow(ctx, id); row != nil {
			if b, err := json.Marshal(row); err == nil {
				ac.before[id], ac.ids = b, []string{id}
			}
		}
		return ac
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	keep := func(id string, row any) {
		if b, err := json.Marshal(row); err == nil && id != "" {
			ac.before[id] = b
			ac.ids = append(ac.ids, id)
		}
	}
	if _, ok := memberAuditRoutes[name]; ok {
		ac.memberBefore()
		return ac
	}
	switch name {
	case "update", "regenerate", "block", "unblock":
		if v, _ := req["key"].(string); v != "" {
			if k := s.keys[tokenOf(v)]; k != nil {
				keep(k.Token, k)
			}
		} else if alias, _ := req["key_alias"].(string); alias != "" && name == "update" {
			for t, k := range s.keys {
				if k.KeyAlias == alias {
					keep(t, k)
				}
			}
		}
	case "delete":
		given, _ := stringList("keys", req["keys"])
		for _, v := range given {
			if k := s.keys[tokenOf(v)]; k != nil {
				keep(k.Token, k)
			}
		}
		aliases, _ := stringList("key_aliases", req["key_aliases"])
		for t, k := range s.keys {
			for _, al := range aliases {
				if k.KeyAlias == al {
					keep(t, k)
				}
			}
		}
	case "team/update":
		if id, _ := req["team_id"].(string); s.teams[id] != nil {
			keep(id, s.teams[id])
		}
	case "team/delete":
		ids, _ := stringList("team_ids", req["team_ids"])
		for _, id := range ids {
			if s.teams[id] != nil {
				keep(id, s.teams[id])
			}
		}
	case "user/update":
		if id, _ := req["user_id"].(string); s.users[id] != nil {
			keep(id, s.users[id])
		}
	case "user/delete":
		ids, _ := stringList("user_ids", req["user_ids"])
		for _, id := range ids {
			if s.users[id] != nil {
				keep(id, s.users[id])
			}
		}
	}
	return ac
}

// modelRow is the stored deployment id (nil: none).
func (s *Service) modelRow(ctx context.Context, id string) *keystore.ModelRow {
	if id == "" {
		return nil
	}
	rows, err := s.o.Store.ListModels(ctx)
	if err != nil {
		return nil
	}
	for _, r := range rows {
		if r.ModelID == id {
			return r
		}
	}
	return nil
}

// finish queues the rows of a change that succeeded (out: its answer).
func (ac *auditCall) finish(ctx context.Context, out []byte) {
	var resp map[string]any
	_ = json.Unmarshal(out, &resp)
	if _, ok := memberAuditRoutes[ac.name]; ok {
		ac.finishMember()
		return
	}
	switch ac.name {
	case "model/new", "model/update":
		id, _ := resp["model_id"].(string)
		action := "created"
		if ac.name == "model/update" {
			action = "updated"
		}
		if row := ac.s.modelRow(ctx, id); row != nil {
			ac.add(action, id, ac.before[id], row)
		}
	case "model/delete":
		for _, id := range ac.ids {
			ac.add("deleted", id, ac.before[id], map[string]any{})
		}
	case "generate":
		id, _ := resp["token_id"].(string)
		ac.add("created", id, nil, withoutSecrets(resp))
	case "team/new":
		id, _ := resp["team_id"].(string)
		ac.add("created", id, nil, withoutSecrets(resp))
	case "user/new":
		id, _ := resp["user_id"].(string)
		ac.add("created", id, nil, withoutSecrets(resp))
	case "update", "team/update", "user/update":
		for _, id := range ac.ids {
			ac.add("updated", id, ac.before[id], ac.storedMetadata(id, withoutSecrets(ac.req)))
		}
	case "regenerate":
		for _, id := range ac.ids {
			ac.add("rotated", id, ac.before[id], withoutSecrets(resp))
		}
	case "block", "unblock":
		for _, id := range ac.ids {
			ac.add(ac.name+"ed", id, ac.before[id], map[string]any{"blocked": ac.name == "block"})
		}
	case "delete", "team/delete", "user/delete":
		for _, id := range ac.ids {
			ac.add("deleted", id, ac.before[id], map[string]any{})
		}
	}
}

// storedMetadata puts the stored row's metadata in place of the request's:
// the request may carry callback credentials in clear, the row holds them
// encrypted (D74), as LiteLLM stores them.
func (ac *auditCall) storedMetadata(id string, uv map[string]any) map[string]any {
	if _, ok := uv["metadata"]; !ok {
		return uv
	}
	s := ac.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	var md map[string]any
	switch ac.name {
	case "update":
		if k := s.keys[id]; k != nil {
			md = k.Metadata
		}
	case "team/update":
		if t := s.teams[id]; t != nil {
			md = t.Metadata
		}
	case "user/update":
		if u := s.users[id]; u != nil {
			md = u.Metadata
		}
	}
	if md == nil {
		delete(uv, "metadata")
	} else {
		uv["metadata"] = md
	}
	return uv
}

// withoutSecrets drops a raw virtual key from a logged object (LiteLLM's
// /key/generate and /key/regenerate answers carry the new key in clear;
// the audit log keeps its hash, token_id, only) and the nulls LiteLLM
// leaves out (exclude_none).
func withoutSecrets(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v == nil {
			continue
		}
		if s, ok := v.(string); ok && (k == "key" || k == "token") && strings.HasPrefix(s, "sk-") {
			continue
		}
		out[k] = v
	}
	return out
}

func (ac *auditCall) add(action, objectID string, before json.RawMessage, after any) {
	if objectID == "" {
		return
	}
	l := keystore.AuditLog{ID: uuid4(), UpdatedAt: ac.s.now().UTC(), ChangedBy: ac.s.changedBy(ac.c), ChangedByAPIKey: ac.c.APIKeyHash(),
		Action: action, TableName: ac.table, ObjectID: objectID, BeforeValue: before}
	if b, err := json.Marshal(after); err == nil {
		l.UpdatedValues = b
	}
	ac.a.wg.Add(1)
	select {
	case ac.a.q <- l:
	default:
		ac.a.wg.Done()
		ac.s.log.Error("audit log: queue full, a row dropped", "action", action, "table_name", ac.table, "object_id", objectID)
	}
}

// APIKeyHash is the calling key's sha256 (changed_by_api_key).
func (c Caller) APIKeyHash() string {
	if c.Admin {
		return c.MasterHash
	}
	return c.Token
}

// changedBy is the row's changed_by: LiteLLM-Changed-By when the calling
// key or its team allows it (allow_litellm_changed_by_header in the
// metadata; the master key has none), else the key's user_id, else the
// proxy admin's name.
func (s *Service) changedBy(c Caller) string {
	if c.Admin {
		return proxyAdminName
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := s.keys[c.Token]
	if k == nil {
		return proxyAdminName
	}
	if c.ChangedBy != "" {
		allowed := k.Metadata["allow_litellm_changed_by_header"] == true
		if t := s.teams[k.TeamID]; t != nil && t.Metadata["allow_litellm_changed_by_header"] == true {
			allowed = true
		}
		if allowed {
			return c.ChangedBy
		}
	}
	if k.UserID != "" {
		return k.UserID
	}
	return proxyAdminName
}

// isAuditPath: LiteLLM's GET /audit and GET /audit/{id}.
func isAuditPath(path string) bool {
	path = strings.TrimRight(path, "/")
	rest, ok := strings.CutPrefix(path, "/audit")
	return ok && (rest == "" || strings.HasPrefix(rest, "/") && strings.Count(rest, "/") == 1)
}

// handleAudit serves GET /audit (a page of rows, LiteLLM's filters and
// sort) and GET /audit/{id}: master key only.
func (s *Service) handleAudit(ctx context.Context, method, path string, q url.Values, c Caller) (int, []byte) {
	if method != "GET" {
		return reply(nil, &Error{Status: 405, Type: "invalid_request_error", Code: "405", Message: "Method Not Allowed: " + method + " (this route accepts GET)"})
	}
	if !c.Admin {
		return reply(nil, &Error{Status: 401, Type: "auth_error", Code: "401", Param: "None",
			Message: "Authentication Error, only the proxy admin can read the audit log. Route=" + path})
	}
	as, ok := s.o.Store.(keystore.AuditStore)
	if !ok {
		return reply(nil, &Error{Status: 500, Type: "internal_server_error", Code: "500", Message: "No connected db."})
	}
	if id, ok := strings.CutPrefix(strings.TrimRight(path, "/"), "/audit/"); ok {
		id, _ = url.PathUnescape(id)
		l, err := as.AuditLog(ctx, id)
		if err == keystore.ErrNotFound {
			return reply(nil, &Error{Status: 404, Type: "not_found_error", Code: "404", Message: "Audit log with ID " + id + " not found"})
		}
		if err != nil {
			return reply(nil, storeError(err))
		}
		return reply(auditView(l), nil)
	}
	page, e := queryInt(q, "page", 1, 1, 1<<30)
	if e != nil {
		return reply(nil, e)
	}
	size, e := queryInt(q, "page_size", 10, 1, 100)
	if e != nil {
		return reply(nil, e)
	}
	f := keystore.AuditFilter{ChangedBy: q.Get("changed_by"), ChangedByAPIKey: q.Get("changed_by_api_key"), Action: q.Get("action"),
		TableName: q.Get("table_name"), ObjectID: q.Get("object_id"), SortBy: q.Get("sort_by"), Asc: strings.EqualFold(q.Get("sort_order"), "asc"),
		Offset: (page - 1) * size, Limit: size}
	for _, d := range []struct {
		name string
		to   **time.Time
	}{{"start_date", &f.Since}, {"end_date", &f.Until}} {
		if v := q.Get(d.name); v != "" {
			t, err := parseAuditDate(v)
			if err != nil {
				return reply(nil, &Error{Status: 400, Type: "bad_request_error", Code: "400", Param: d.name, Message: d.name + " must be an ISO 8601 date or time"})
			}
			*d.to = &t
		}
	}
	rows, total, err := as.AuditLogs(ctx, f)
	if err != nil {
		return reply(nil, storeError(err))
	}
	views := make([]map[string]any, 0, len(rows))
	for i := range rows {
		views = append(views, auditView(&rows[i]))
	}
	return reply(map[string]any{"audit_logs": views, "total": total, "page": page, "page_size": size, "total_pages": (total + size - 1) / size}, nil)
}

func queryInt(q url.Values, name string, def, lo, hi int) (int, *Error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	var n int
	if _, err := fmt.Sscan(v, &n); err != nil || n < lo || n > hi || fmt.Sprint(n) != strings.TrimSpace(v) {
		return 0, &Error{Status: 422, Type: "invalid_request_error", Code: "422", Param: name,
			Message: fmt.Sprintf("%s must be an integer from %d to %d", name, lo, hi)}
	}
	return n, nil
}

func parseAuditDate(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date: %q", v)
}

// auditView is a row as LiteLLM's AuditLogResponse answers it.
func auditView(l *keystore.AuditLog) map[string]any {
	obj := func(b json.RawMessage) any {
		var v any
		if len(b) == 0 || json.Unmarshal(b, &v) != nil {
			return nil
		}
		return v
	}
	return map[string]any{"id": l.ID, "updated_at": l.UpdatedAt.UTC().Format(time.RFC3339Nano), "changed_by": l.ChangedBy,
		"changed_by_api_key": l.ChangedByAPIKey, "action": l.Action, "table_name": l.TableName, "object_id": l.ObjectID,
		"before_value": obj(l.BeforeValue), "updated_values": obj(l.UpdatedValues)}
}
