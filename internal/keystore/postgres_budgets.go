package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Tables and columns read and written beyond those named on Postgres:
//
//   - LiteLLM_BudgetTable: budget_id, max_budget, soft_budget,
//     max_parallel_requests, tpm_limit, rpm_limit, model_max_budget,
//     budget_duration, budget_reset_at, created_at, created_by, updated_at,
//     updated_by, allowed_models, temp_budget_increase, temp_budget_expiry.
//   - LiteLLM_TeamMembership: user_id, team_id, spend, budget_id.
//   - LiteLLM_EndUserTable: user_id, alias, spend, allowed_model_region,
//     default_model, budget_id, blocked.
//   - LiteLLM_VerificationToken also budget_id and soft_budget_cooldown;
//     LiteLLM_TeamTable also soft_budget.

const budgetCols = `budget_id, max_budget, soft_budget, max_parallel_requests::bigint, tpm_limit, rpm_limit, COALESCE(model_max_budget,'{}'),
	COALESCE(budget_duration,''), budget_reset_at, created_at, COALESCE(created_by,''), updated_at, COALESCE(updated_by,''),
	COALESCE(allowed_models, ARRAY[]::text[]), temp_budget_increase, temp_budget_expiry`

func scanBudget(row pgx.Row) (*Budget, error) {
	b := &Budget{}
	var mmb []byte
	err := row.Scan(&b.BudgetID, &b.MaxBudget, &b.SoftBudget, &b.MaxParallelRequests, &b.TPMLimit, &b.RPMLimit, &mmb,
		&b.BudgetDuration, &b.BudgetResetAt, &b.CreatedAt, &b.CreatedBy, &b.UpdatedAt, &b.UpdatedBy, &b.AllowedModels,
		&b.TempBudgetIncrease, &b.TempBudgetExpiry)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal(mmb, &b.ModelMaxBudget)
	b.BudgetResetAt, b.TempBudgetExpiry = utc(b.BudgetResetAt), utc(b.TempBudgetExpiry)
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	return b, nil
}

func (p *Postgres) PutBudget(ctx context.Context, b *Budget) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO "LiteLLM_BudgetTable" (budget_id, max_budget, soft_budget, max_parallel_requests, tpm_limit, rpm_limit,
		model_max_budget, budget_duration, budget_reset_at, created_at, created_by, updated_at, updated_by, allowed_models,
		temp_budget_increase, temp_budget_expiry)
		VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, NULLIF($8,''), $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (budget_id) DO UPDATE SET max_budget=EXCLUDED.max_budget, soft_budget=EXCLUDED.soft_budget,
		max_parallel_requests=EXCLUDED.max_parallel_requests, tpm_limit=EXCLUDED.tpm_limit, rpm_limit=EXCLUDED.rpm_limit,
		model_max_budget=EXCLUDED.model_max_budget, budget_duration=EXCLUDED.budget_duration, budget_reset_at=EXCLUDED.budget_reset_at,
		updated_at=EXCLUDED.updated_at, updated_by=EXCLUDED.updated_by, allowed_models=EXCLUDED.allowed_models,
		temp_budget_increase=EXCLUDED.temp_budget_increase, temp_budget_expiry=EXCLUDED.temp_budget_expiry`,
		b.BudgetID, b.MaxBudget, b.SoftBudget, b.MaxParallelRequests, b.TPMLimit, b.RPMLimit, jsonArg(b.ModelMaxBudget),
		b.BudgetDuration, utc(b.BudgetResetAt), nowUTC(b.CreatedAt), b.CreatedBy, nowUTC(b.UpdatedAt), b.UpdatedBy, textArray(b.AllowedModels),
		b.TempBudgetIncrease, utc(b.TempBudgetExpiry))
	if err != nil {
		return fmt.Errorf("key store: put budget: %w", err)
	}
	return nil
}

func (p *Postgres) GetBudget(ctx context.Context, id string) (*Budget, error) {
	b, err := scanBudget(p.pool.QueryRow(ctx, `SELECT `+budgetCols+` FROM "LiteLLM_BudgetTable" WHERE budget_id=$1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("key store: get budget: %w", err)
	}
	return b, err
}

func (p *Postgres) DeleteBudget(ctx context.Context, id string) error {
	return p.deleteOne(ctx, `DELETE FROM "LiteLLM_BudgetTable" WHERE budget_id=$1`, id)
}

func (p *Postgres) ListBudgets(ctx context.Context) ([]*Budget, error) {
	return listRows(ctx, p, "budgets", `SELECT `+budgetCols+` FROM "LiteLLM_BudgetTable" ORDER BY budget_id`, scanBudget)
}

// listRows runs a SELECT and scans every row; what names the rows in errors.
func listRows[T any](ctx context.Context, p *Postgres, what, sql string, scan func(pgx.Row) (*T, error)) ([]*T, error) {
	rows, err := p.pool.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("key store: list %s: %w", what, err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("key store: list %s: %w", what, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (p *Postgres) PutMembership(ctx context.Context, m *Membership) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO "LiteLLM_TeamMembership" (user_id, team_id, spend, budget_id) VALUES ($1, $2, $3, NULLIF($4,''))
		ON CONFLICT (user_id, team_id) DO UPDATE SET budget_id=EXCLUDED.budget_id`, m.UserID, m.TeamID, m.Spend, m.BudgetID)
	if err != nil {
		return fmt.Errorf("key store: put team membership: %w", err)
	}
	return nil
}

func (p *Postgres) DeleteMembership(ctx context.Context, teamID, userID string) error {
	tag, err := p.pool.Exec(ctx, `DELETE FROM "LiteLLM_TeamMembership" WHERE team_id=$1 AND user_id=$2`, teamID, userID)
	if err != nil {
		return fmt.Errorf("key store: delete team membership: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

func scanMembership(row pgx.Row) (*Membership, error) {
	m := &Membership{}
	if err := row.Scan(&m.UserID, &m.TeamID, &m.Spend, &m.BudgetID); err != nil {
		return nil, err
	}
	return m, nil
}

func (p *Postgres) ListMemberships(ctx context.Context) ([]*Membership, error) {
	return listRows(ctx, p, "team memberships", `SELECT user_id, team_id, spend, COALESCE(budget_id,'') FROM "LiteLLM_TeamMembership" ORDER BY team_id, user_id`, scanMembership)
}

const endUserCols = `user_id, COALESCE(alias,''), spend, COALESCE(allowed_model_region,''), COALESCE(default_model,''), COALESCE(budget_id,''), blocked`

func scanEndUser(row pgx.Row) (*EndUser, error) {
	e := &EndUser{}
	err := row.Scan(&e.UserID, &e.Alias, &e.Spend, &e.AllowedModelRegion, &e.DefaultModel, &e.BudgetID, &e.Blocked)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return e, err
}

func (p *Postgres) PutEndUser(ctx context.Context, e *EndUser) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO "LiteLLM_EndUserTable" (user_id, alias, spend, allowed_model_region, default_model, budget_id, blocked)
		VALUES ($1, NULLIF($2,''), $3, NULLIF($4,''), NULLIF($5,''), NULLIF($6,''), $7)
		ON CONFLICT (user_id) DO UPDATE SET alias=EXCLUDED.alias, allowed_model_region=EXCLUDED.allowed_model_region,
		default_model=EXCLUDED.default_model, budget_id=EXCLUDED.budget_id, blocked=EXCLUDED.blocked`,
		e.UserID, e.Alias, e.Spend, e.AllowedModelRegion, e.DefaultModel, e.BudgetID, e.Blocked)
	if err != nil {
		return fmt.Errorf("key store: put end user: %w", err)
	}
	return nil
}

func (p *Postgres) GetEndUser(ctx context.Context, id string) (*EndUser, error) {
	e, err := scanEndUser(p.pool.QueryRow(ctx, `SELECT `+endUserCols+` FROM "LiteLLM_EndUserTable" WHERE user_id=$1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("key store: get end user: %w", err)
	}
	return e, err
}

func (p *Postgres) DeleteEndUser(ctx context.Context, id string) error {
	return p.deleteOne(ctx, `DELETE FROM "LiteLLM_EndUserTable" WHERE user_id=$1`, id)
}

func (p *Postgres) ListEndUsers(ctx context.Context) ([]*EndUser, error) {
	return listRows(ctx, p, "end users", `SELECT `+endUserCols+` FROM "LiteLLM_EndUserTable" ORDER BY user_id`, scanEndUser)
}

// resetBudgetRow starts a new period of a budget: the end users and team
// memberships that use it start again from 0 (LiteLLM's budget reset job).
func (p *Postgres) resetBudgetRow(ctx context.Context, id string, due, next time.Time) (bool, error) {
	reset := false
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE "LiteLLM_BudgetTable" SET budget_reset_at = $3 WHERE budget_id = $1 AND budget_reset_at <= $2`, id, due.UTC(), next.UTC())
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		reset = true
		if _, err := tx.Exec(ctx, `UPDATE "LiteLLM_EndUserTable" SET spend = 0 WHERE budget_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE "LiteLLM_TeamMembership" SET spend = 0 WHERE budget_id = $1`, id)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("key store: reset budget: %w", err)
	}
	return reset, nil
}

func (p *Postgres) SpendLogsWhere(ctx context.Context, f SpendLogFilter) ([]SpendLog, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	rows, err := p.pool.Query(ctx, `SELECT request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens,
		"startTime", "endTime", model, COALESCE(model_id,''), COALESCE(model_group,''), COALESCE(custom_llm_provider,''), COALESCE("user",''),
		COALESCE(metadata,'{}'), COALESCE(request_tags,'[]'), COALESCE(team_id,''), COALESCE(end_user,''), COALESCE(status,''),
		COALESCE(cache_hit,''), COALESCE(cache_key,''), COALESCE(proxy_server_request,'{}'), COALESCE(response,'{}')
		FROM "LiteLLM_SpendLogs" `+spendLogsWhere+`
		ORDER BY "startTime" DESC LIMIT $8`, append(f.pgArgs(), f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("key store: spend logs: %w", err)
	}
	defer rows.Close()
	var out []SpendLog
	for rows.Next() {
		var l SpendLog
		var md, tags []byte
		if err := rows.Scan(&l.RequestID, &l.CallType, &l.APIKey, &l.Spend, &l.TotalTokens, &l.PromptTokens, &l.CompletionTokens,
			&l.StartTime, &l.EndTime, &l.Model, &l.ModelID, &l.ModelGroup, &l.Provider, &l.User, &md, &tags, &l.TeamID, &l.EndUser, &l.Status,
			&l.CacheHit, &l.CacheKey, &l.Request, &l.Response); err != nil {
			return nil, fmt.Errorf("key store: spend logs: %w", err)
		}
		_ = json.Unmarshal(md, &l.Metadata)
		_ = json.Unmarshal(tags, &l.RequestTags)
		l.StartTime, l.EndTime = l.StartTime.UTC(), l.EndTime.UTC()
		out = append(out, l)
	}
	return out, rows.Err()
}

// spendLogsWhere is the PostgreSQL condition of a SpendLogFilter over
// LiteLLM_SpendLogs, with pgArgs as $1..$7.
const spendLogsWhere = `WHERE ($1 = '' OR api_key = $1) AND ($2 = '' OR "user" = $2) AND ($3 = '' OR team_id = $3)
		AND ($4 = '' OR end_user = $4) AND ($5 = '' OR request_id = $5) AND ($6::timestamp IS NULL OR "startTime" >= $6)
		AND ($7::timestamp IS NULL OR "startTime" < $7)`

// pgArgs are spendLogsWhere's arguments: the filter's fields, Start and End
// as nullable UTC timestamps (NULL when zero: any time).
func (f *SpendLogFilter) pgArgs() []any {
	var start, end *time.Time
	if !f.Start.IsZero() {
		s := f.Start.UTC()
		start = &s
	}
	if !f.End.IsZero() {
		e := f.End.UTC()
		end = &e
	}
	return []any{f.Token, f.UserID, f.TeamID, f.EndUser, f.RequestID, start, end}
}

// spendByColumn maps SpendBy's names to SQL (a fixed set: never a client's text).
var spendByColumn = map[string]string{"api_key": `api_key`, "model": `model`, "user": `COALESCE("user",'')`,
	"day": `to_char("startTime", 'YYYY-MM-DD')`, "model_group": `COALESCE(model_group,'')`, "team_id": `COALESCE(team_id,'')`, "": `''`,
	"end_user": `COALESCE(end_user,'')`, "day_team": `to_char("startTime", 'YYYY-MM-DD') || COALESCE(team_id,'')`}

func (p *Postgres) SpendBy(ctx context.Context, f SpendLogFilter, by string) (map[string]float64, error) {
	col, ok := spendByColumn[by]
	if !ok {
		return nil, fmt.Errorf("key store: spend by %q", by)
	}
	rows, err := p.pool.Query(ctx, `SELECT `+col+` AS k, COALESCE(SUM(spend), 0) FROM "LiteLLM_SpendLogs"
		`+spendLogsWhere+` GROUP BY 1`, f.pgArgs()...)
	if err != nil {
		return nil, fmt.Errorf("key store: spend by %s: %w", by, err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var k string
		var v float64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("key store: spend by %s: %w", by, err)
		}
		out[k] += v
	}
	return out, rows.Err()
}

// textArray is a TEXT[] argument: never NULL (LiteLLM's columns default to
// an empty array).
func textArray(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
