package keystore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditLog is one LiteLLM_AuditLog row: a management change (store_audit_logs).
type AuditLog struct {
	ID              string    `json:"id"`
	UpdatedAt       time.Time `json:"updated_at"`
	ChangedBy       string    `json:"changed_by"`
	ChangedByAPIKey string    `json:"changed_by_api_key"`
	Action          string    `json:"action"`     // created, updated, deleted, blocked, unblocked, rotated
	TableName       string    `json:"table_name"` // LiteLLM_VerificationToken, LiteLLM_TeamTable, …
	ObjectID        string    `json:"object_id"`
	// BeforeValue and UpdatedValues are JSON (nil: none).
	BeforeValue   json.RawMessage `json:"before_value,omitempty"`
	UpdatedValues json.RawMessage `json:"updated_values,omitempty"`
}

// AuditFilter selects audit rows (LiteLLM's GET /audit query): every
// non-empty field must match; Since/Until bound updated_at (inclusive).
type AuditFilter struct {
	ChangedBy, ChangedByAPIKey, Action, TableName, ObjectID string
	Since, Until                                            *time.Time
	// SortBy is a column (updated_at when empty or unknown); Asc sorts
	// oldest first.
	SortBy string
	Asc    bool
	Offset int
	Limit  int // at most this many rows (100 when <= 0)
}

// AuditStore keeps the audit rows. Both stores implement it.
type AuditStore interface {
	// AddAuditLog stores one row durably.
	AddAuditLog(ctx context.Context, l *AuditLog) error
	// AuditLogs returns the rows f selects (one page) and how many match.
	AuditLogs(ctx context.Context, f AuditFilter) ([]AuditLog, int, error)
	// AuditLog returns one row, or ErrNotFound.
	AuditLog(ctx context.Context, id string) (*AuditLog, error)
}

// auditColumns are the columns a page may be sorted by.
var auditColumns = map[string]string{
	"updated_at": "updated_at", "changed_by": "changed_by", "changed_by_api_key": "changed_by_api_key",
	"action": "action", "table_name": "table_name", "object_id": "object_id", "id": "id",
}

func (f *AuditFilter) match(l *AuditLog) bool {
	return (f.ChangedBy == "" || l.ChangedBy == f.ChangedBy) &&
		(f.ChangedByAPIKey == "" || l.ChangedByAPIKey == f.ChangedByAPIKey) &&
		(f.Action == "" || l.Action == f.Action) &&
		(f.TableName == "" || l.TableName == f.TableName) &&
		(f.ObjectID == "" || l.ObjectID == f.ObjectID) &&
		(f.Since == nil || !l.UpdatedAt.Before(*f.Since)) &&
		(f.Until == nil || !l.UpdatedAt.After(*f.Until))
}

func (f *AuditFilter) limit() int {
	if f.Limit <= 0 {
		return 100
	}
	return f.Limit
}

// auditFile is the embedded store's audit log: one JSON line a row,
// appended and fsynced (a management change is rare; the file is opened
// for each write so that the store needs no state for it).
const auditFile = "audit_logs.jsonl"

func (e *Embedded) AddAuditLog(_ context.Context, l *AuditLog) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("key store: audit log: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(e.dir, auditFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("key store: audit log: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if e2 := f.Close(); err == nil {
		err = e2
	}
	if err != nil {
		return fmt.Errorf("key store: audit log: %w", err)
	}
	return nil
}

// readAudit reads every row (a torn last line, left by a crash mid-write,
// is skipped); mu held.
func (e *Embedded) readAudit() ([]AuditLog, error) {
	f, err := os.Open(filepath.Join(e.dir, auditFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key store: audit log: %w", err)
	}
	defer f.Close()
	var out []AuditLog
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l AuditLog
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

func (e *Embedded) AuditLogs(_ context.Context, f AuditFilter) ([]AuditLog, int, error) {
	e.mu.Lock()
	all, err := e.readAudit()
	e.mu.Unlock()
	if err != nil {
		return nil, 0, err
	}
	var out []AuditLog
	for i := range all {
		if f.match(&all[i]) {
			out = append(out, all[i])
		}
	}
	col := auditColumns[f.SortBy]
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if f.Asc {
			a, b = b, a
		}
		switch col {
		case "changed_by":
			return a.ChangedBy > b.ChangedBy
		case "changed_by_api_key":
			return a.ChangedByAPIKey > b.ChangedByAPIKey
		case "action":
			return a.Action > b.Action
		case "table_name":
			return a.TableName > b.TableName
		case "object_id":
			return a.ObjectID > b.ObjectID
		case "id":
			return a.ID > b.ID
		}
		return a.UpdatedAt.After(b.UpdatedAt)
	})
	total := len(out)
	lo := min(max(f.Offset, 0), total)
	hi := min(lo+f.limit(), total)
	return out[lo:hi], total, nil
}

func (e *Embedded) AuditLog(_ context.Context, id string) (*AuditLog, error) {
	e.mu.Lock()
	all, err := e.readAudit()
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].ID == id {
			return &all[i], nil
		}
	}
	return nil, ErrNotFound
}

// auditMigration creates LiteLLM's LiteLLM_AuditLog (as its schema.prisma
// defines it) when missing.
const auditMigration = `CREATE TABLE IF NOT EXISTS "LiteLLM_AuditLog" (
		"id" TEXT NOT NULL PRIMARY KEY,
		"updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
		"changed_by" TEXT NOT NULL DEFAULT '',
		"changed_by_api_key" TEXT NOT NULL DEFAULT '',
		"action" TEXT NOT NULL,
		"table_name" TEXT NOT NULL,
		"object_id" TEXT NOT NULL,
		"before_value" JSONB,
		"updated_values" JSONB
	)`

// jsonOrNil is a JSON column's argument: NULL for none.
func jsonOrNil(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func (p *Postgres) AddAuditLog(ctx context.Context, l *AuditLog) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO "LiteLLM_AuditLog" (id, updated_at, changed_by, changed_by_api_key, action, table_name, object_id, before_value, updated_values)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb)`,
		l.ID, nowUTC(l.UpdatedAt), l.ChangedBy, l.ChangedByAPIKey, l.Action, l.TableName, l.ObjectID, jsonOrNil(l.BeforeValue), jsonOrNil(l.UpdatedValues))
	if err != nil {
		return fmt.Errorf("key store: audit log: %w", err)
	}
	return nil
}

const auditCols = `id, updated_at, changed_by, changed_by_api_key, action, table_name, object_id, before_value, updated_values`

func scanAudit(row pgx.Row) (AuditLog, error) {
	var l AuditLog
	var before, after []byte
	if err := row.Scan(&l.ID, &l.UpdatedAt, &l.ChangedBy, &l.ChangedByAPIKey, &l.Action, &l.TableName, &l.ObjectID, &before, &after); err != nil {
		return l, err
	}
	l.UpdatedAt = l.UpdatedAt.UTC()
	if len(before) > 0 {
		l.BeforeValue = before
	}
	if len(after) > 0 {
		l.UpdatedValues = after
	}
	return l, nil
}

func (p *Postgres) AuditLogs(ctx context.Context, f AuditFilter) ([]AuditLog, int, error) {
	var where []string
	var args []any
	add := func(col string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf("%s=$%d", col, len(args)))
	}
	for _, c := range []struct{ col, v string }{{"changed_by", f.ChangedBy}, {"changed_by_api_key", f.ChangedByAPIKey},
		{"action", f.Action}, {"table_name", f.TableName}, {"object_id", f.ObjectID}} {
		if c.v != "" {
			add(c.col, c.v)
		}
	}
	if f.Since != nil {
		args = append(args, f.Since.UTC())
		where = append(where, fmt.Sprintf("updated_at>=$%d", len(args)))
	}
	if f.Until != nil {
		args = append(args, f.Until.UTC())
		where = append(where, fmt.Sprintf("updated_at<=$%d", len(args)))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := p.pool.QueryRow(ctx, `SELECT count(*) FROM "LiteLLM_AuditLog"`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("key store: audit logs: %w", err)
	}
	col, ok := auditColumns[f.SortBy]
	if !ok {
		col = "updated_at"
	}
	dir := "DESC"
	if f.Asc {
		dir = "ASC"
	}
	rows, err := p.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM "LiteLLM_AuditLog"%s ORDER BY %s %s, id %s OFFSET %d LIMIT %d`,
		auditCols, cond, col, dir, dir, max(f.Offset, 0), f.limit()), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("key store: audit logs: %w", err)
	}
	defer rows.Close()
	var out []AuditLog
	for rows.Next() {
		l, err := scanAudit(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("key store: audit logs: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("key store: audit logs: %w", err)
	}
	return out, total, nil
}

func (p *Postgres) AuditLog(ctx context.Context, id string) (*AuditLog, error) {
	l, err := scanAudit(p.pool.QueryRow(ctx, `SELECT `+auditCols+` FROM "LiteLLM_AuditLog" WHERE id=$1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("key store: audit log: %w", err)
	}
	return &l, nil
}
