package callbacks

import (
	"testing"
	"time"
)

// The s3 audit log callback (D79): each audit row is one object at
// [s3_path/]audit_logs/YYYY-MM-DD/HH-MM-SS_<id>.json holding LiteLLM's
// StandardAuditLogPayload (before_value and updated_values as JSON
// strings, updated_at in Python's isoformat), put in batches with the
// object headers of the s3 callback; nothing without a bucket.
func TestS3AuditLogs(t *testing.T) {
	f, st := s3Bucket(t)
	m := New(nil)
	m.Audit(AuditLog{ID: "before-configured", Action: "created"}) // nowhere to go yet: dropped silently
	st.Path, st.BatchSize, st.FlushInterval = "litellm-audit/", 2, 20*time.Millisecond
	m.ConfigureAudit(st)
	at := time.Date(2026, 11, 28, 19, 5, 7, 123456000, time.UTC)
	m.Audit(AuditLog{ID: "a-1", UpdatedAt: at, ChangedBy: "default_user_id", ChangedByAPIKey: "88dc28", Action: "created",
		TableName: "LiteLLM_VerificationToken", ObjectID: "tok-1", UpdatedValues: []byte(`{"key_alias":"app"}`)})
	m.Audit(AuditLog{ID: "a-2", UpdatedAt: at.Add(time.Hour), Action: "deleted", TableName: "LiteLLM_VerificationToken", ObjectID: "tok-1",
		BeforeValue: []byte(`{"token":"tok-1"}`), UpdatedValues: []byte(`{}`)})
	m.Audit(AuditLog{ID: "a-3", UpdatedAt: at.Truncate(time.Second), Action: "updated", TableName: "LiteLLM_TeamTable", ObjectID: "team-1"})
	waitObjects(t, f, 3, m)
	m.Close()
	objs, meta := f.Objects(t, "logs")
	if len(objs) != 3 {
		t.Fatalf("objects %v", keys(objs))
	}
	first := objs["litellm-audit/audit_logs/2026-11-28/19-05-07_a-1.json"]
	if first == nil {
		t.Fatalf("no object for a-1: %v", keys(objs))
	}
	want := map[string]any{"id": "a-1", "updated_at": "2026-11-28T19:05:07.123456+00:00", "changed_by": "default_user_id", "changed_by_api_key": "88dc28",
		"action": "created", "table_name": "LiteLLM_VerificationToken", "object_id": "tok-1", "before_value": nil, "updated_values": `{"key_alias":"app"}`}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("a-1 %s = %#v, want %#v", k, first[k], v)
		}
	}
	if len(first) != len(want) {
		t.Errorf("a-1 fields %v", first)
	}
	if md := meta["litellm-audit/audit_logs/2026-11-28/19-05-07_a-1.json"]; md["Content-Disposition"] != `inline; filename="audit-a-1.json"` || md["Content-Type"] != "application/json" {
		t.Errorf("a-1 headers %v", md)
	}
	if d := objs["litellm-audit/audit_logs/2026-11-28/20-05-07_a-2.json"]; d == nil || d["before_value"] != `{"token":"tok-1"}` || d["updated_values"] != "{}" {
		t.Errorf("a-2: %v (%v)", d, keys(objs))
	}
	if u := objs["litellm-audit/audit_logs/2026-11-28/19-05-07_a-3.json"]; u == nil || u["updated_at"] != "2026-11-28T19:05:07+00:00" || u["updated_values"] != nil {
		t.Errorf("a-3: %v", u)
	}
	var st3 *Stat
	for _, s := range m.Stats() {
		if s.Name == S3Audit {
			st3 = &s
		}
	}
	if st3 == nil || st3.Sent != 3 || st3.Dropped != 0 {
		t.Errorf("stats %+v", m.Stats())
	}
}
