package keystore

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// runAuditSuite (D79): both stores keep LiteLLM_AuditLog rows across a
// reopen, filter, sort and page them as LiteLLM's GET /audit does, and
// answer one by id.
func runAuditSuite(t *testing.T, mk func(t *testing.T) opener) {
	t.Run("audit logs survive reopen, filter and page", func(t *testing.T) {
		ctx := context.Background()
		open := mk(t)
		s := open(t)
		as, ok := s.(AuditStore)
		if !ok {
			t.Fatalf("%T keeps no audit log", s)
		}
		t0 := time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)
		rows := []AuditLog{
			{ID: "a1", UpdatedAt: t0, ChangedBy: "default_user_id", ChangedByAPIKey: "h1", Action: "created", TableName: "LiteLLM_VerificationToken",
				ObjectID: "tok1", UpdatedValues: json.RawMessage(`{"key_alias":"app","token":"tok1"}`)},
			{ID: "a2", UpdatedAt: t0.Add(time.Second), ChangedBy: "default_user_id", ChangedByAPIKey: "h1", Action: "updated", TableName: "LiteLLM_VerificationToken",
				ObjectID: "tok1", BeforeValue: json.RawMessage(`{"key_alias":"app"}`), UpdatedValues: json.RawMessage(`{"key":"tok1","max_budget":5}`)},
			{ID: "a3", UpdatedAt: t0.Add(2 * time.Second), ChangedBy: "admin-user", ChangedByAPIKey: "h2", Action: "deleted", TableName: "LiteLLM_TeamTable",
				ObjectID: "team-1", BeforeValue: json.RawMessage(`{"team_id":"team-1"}`), UpdatedValues: json.RawMessage(`{}`)},
		}
		for i := range rows {
			if err := as.AddAuditLog(ctx, &rows[i]); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		as = open(t).(AuditStore)
		all, total, err := as.AuditLogs(ctx, AuditFilter{})
		if err != nil || total != 3 || len(all) != 3 || all[0].ID != "a3" || all[2].ID != "a1" {
			t.Fatalf("all, newest first: total %d, %+v, %v", total, all, err)
		}
		var before, after map[string]any
		if err := json.Unmarshal(all[1].BeforeValue, &before); err != nil || before["key_alias"] != "app" {
			t.Fatalf("before_value: %s, %v", all[1].BeforeValue, err)
		}
		if err := json.Unmarshal(all[1].UpdatedValues, &after); err != nil || after["max_budget"] != 5.0 {
			t.Fatalf("updated_values: %s, %v", all[1].UpdatedValues, err)
		}
		if all[2].BeforeValue != nil || !all[0].UpdatedAt.Equal(t0.Add(2*time.Second)) || all[0].ChangedBy != "admin-user" || all[0].ChangedByAPIKey != "h2" ||
			all[0].TableName != "LiteLLM_TeamTable" || all[0].ObjectID != "team-1" || all[0].Action != "deleted" {
			t.Fatalf("columns: %+v", all)
		}
		got, total, err := as.AuditLogs(ctx, AuditFilter{ObjectID: "tok1", Asc: true})
		if err != nil || total != 2 || len(got) != 2 || got[0].ID != "a1" || got[1].ID != "a2" {
			t.Fatalf("object_id tok1, oldest first: total %d, %+v, %v", total, got, err)
		}
		since := t0.Add(time.Second)
		got, total, err = as.AuditLogs(ctx, AuditFilter{TableName: "LiteLLM_VerificationToken", Since: &since})
		if err != nil || total != 1 || got[0].ID != "a2" {
			t.Fatalf("table and start date: total %d, %+v, %v", total, got, err)
		}
		got, total, err = as.AuditLogs(ctx, AuditFilter{ChangedBy: "default_user_id", Action: "created"})
		if err != nil || total != 1 || got[0].ID != "a1" {
			t.Fatalf("changed_by and action: total %d, %+v, %v", total, got, err)
		}
		got, total, err = as.AuditLogs(ctx, AuditFilter{Offset: 1, Limit: 1})
		if err != nil || total != 3 || len(got) != 1 || got[0].ID != "a2" {
			t.Fatalf("page 2 of 1: total %d, %+v, %v", total, got, err)
		}
		got, _, err = as.AuditLogs(ctx, AuditFilter{SortBy: "action", Asc: true})
		if err != nil || got[0].Action != "created" || got[2].Action != "updated" {
			t.Fatalf("sorted by action: %+v, %v", got, err)
		}
		one, err := as.AuditLog(ctx, "a2")
		if err != nil || one.ObjectID != "tok1" || one.Action != "updated" {
			t.Fatalf("by id: %+v, %v", one, err)
		}
		if _, err := as.AuditLog(ctx, "nope"); err != ErrNotFound {
			t.Fatalf("unknown id: %v", err)
		}
	})
}
