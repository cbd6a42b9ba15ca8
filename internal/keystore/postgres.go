package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres keeps the records in LiteLLM's own tables (see migrations).
// Tables and columns read and written:
//
//   - LiteLLM_VerificationToken: token, key_name, key_alias, spend, expires,
//     models, aliases, user_id, team_id, max_parallel_requests, metadata,
//     blocked, tpm_limit, rpm_limit, max_budget, budget_duration,
//     budget_reset_at, model_spend, model_max_budget, created_at, created_by,
//     updated_at, updated_by.
//   - LiteLLM_TeamTable: team_id, team_alias, organization_id, admins,
//     members, members_with_roles, metadata, max_budget, spend, models,
//     max_parallel_requests, tpm_limit, rpm_limit, budget_duration,
//     budget_reset_at, blocked, model_spend, model_max_budget, created_at,
//     updated_at.
//   - LiteLLM_UserTable: user_id, user_alias, team_id, teams, user_role,
//     max_budget, spend, user_email, models, metadata, max_parallel_requests,
//     tpm_limit, rpm_limit, budget_duration, budget_reset_at, model_spend,
//     model_max_budget, created_at, updated_at.
//   - LiteLLM_SpendLogs: request_id, call_type, api_key, spend, total_tokens,
//     prompt_tokens, completion_tokens, startTime, endTime, model, model_id,
//     model_group, custom_llm_provider, user, metadata, request_tags, team_id,
//     end_user, status (inserted; other columns keep their defaults).
//
// Times are stored in UTC, as LiteLLM stores them.
type Postgres struct {
	pool *pgxpool.Pool
}

// OpenPostgres connects to url (general_settings.database_url) and applies
// the migrations not yet applied.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	return OpenPostgresTraced(ctx, url, nil)
}

// OpenPostgresTraced is OpenPostgres with a tracer on every connection
// (service_callback's PostgreSQL metrics); nil is none.
func OpenPostgresTraced(ctx context.Context, url string, tracer pgx.QueryTracer) (*Postgres, error) {
	return OpenPostgresWith(ctx, url, PostgresOptions{Tracer: tracer})
}

// PostgresOptions are OpenPostgresWith's settings.
type PostgresOptions struct {
	// Tracer is on every connection (service_callback's PostgreSQL
	// metrics); nil is none.
	Tracer pgx.QueryTracer
	// PoolLimit is database_connection_pool_limit: the most connections
	// the pool opens (0: the URL's pool_max_conns, else LiteLLM's default,
	// DefaultPoolLimit).
	PoolLimit int
	// Timeout is database_connection_timeout: the bound on opening one
	// connection (0: the URL's connect_timeout, else LiteLLM's default,
	// DefaultConnectTimeout).
	Timeout time.Duration
}

// LiteLLM's defaults of database_connection_pool_limit and
// database_connection_timeout (its LiteLLMDatabaseConnectionPool).
const (
	DefaultPoolLimit      = 10
	DefaultConnectTimeout = 60 * time.Second
)

// OpenPostgresWith is OpenPostgres with the pool's settings.
func OpenPostgresWith(ctx context.Context, url string, o PostgresOptions) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database_url: %w", err)
	}
	if o.Tracer != nil {
		cfg.ConnConfig.Tracer = o.Tracer
	}
	switch {
	case o.PoolLimit > 0:
		cfg.MaxConns = int32(min(o.PoolLimit, 1<<20))
	case !strings.Contains(url, "pool_max_conns"):
		cfg.MaxConns = DefaultPoolLimit
	}
	cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	switch {
	case o.Timeout > 0:
		cfg.ConnConfig.ConnectTimeout = o.Timeout
	case cfg.ConnConfig.ConnectTimeout == 0:
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database_url: %w", err)
	}
	p := &Postgres{pool: pool}
	if err := p.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return p, nil
}

// migrate applies each migration once, under an advisory lock so instances
// starting together do not race.
func (p *Postgres) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7355608011)`); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS llmgate_schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM llmgate_schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO llmgate_schema_migrations (version) VALUES ($1)`, v); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}

func jsonArg(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return "{}"
	}
	return string(b)
}

// rawArg is a stored JSON column's argument ({} when none).
func rawArg(b json.RawMessage) string {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func nowUTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now().UTC()
	}
	return t.UTC()
}

const keyCols = `token, COALESCE(key_name,''), COALESCE(key_alias,''), spend, expires, COALESCE(models, ARRAY[]::text[]), aliases,
	COALESCE(user_id,''), COALESCE(team_id,''), max_parallel_requests::bigint, metadata, COALESCE(blocked,false), tpm_limit, rpm_limit,
	max_budget, COALESCE(budget_duration,''), budget_reset_at, model_spend, model_max_budget,
	COALESCE(created_at, CURRENT_TIMESTAMP), COALESCE(updated_at, CURRENT_TIMESTAMP), COALESCE(created_by,''), COALESCE(updated_by,''),
	COALESCE(budget_id,''), soft_budget_cooldown`

func scanKey(row pgx.Row) (*Key, error) {
	k := &Key{}
	var aliases, md, ms, mmb []byte
	err := row.Scan(&k.Token, &k.KeyName, &k.KeyAlias, &k.Spend, &k.Expires, &k.Models, &aliases,
		&k.UserID, &k.TeamID, &k.MaxParallelRequests, &md, &k.Blocked, &k.TPMLimit, &k.RPMLimit,
		&k.MaxBudget, &k.BudgetDuration, &k.BudgetResetAt, &ms, &mmb,
		&k.CreatedAt, &k.UpdatedAt, &k.CreatedBy, &k.UpdatedBy, &k.BudgetID, &k.SoftBudgetCooldown)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal(aliases, &k.Aliases)
	_ = json.Unmarshal(md, &k.Metadata)
	_ = json.Unmarshal(ms, &k.ModelSpend)
	_ = json.Unmarshal(mmb, &k.ModelMaxBudget)
	k.Expires, k.BudgetResetAt = utc(k.Expires), utc(k.BudgetResetAt)
	k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC(), k.UpdatedAt.UTC()
	return k, nil
}

func (p *Postgres) PutKey(ctx context.Context, k *Key) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, spend, expires, models, aliases,
		user_id, team_id, max_parallel_requests, metadata, blocked, tpm_limit, rpm_limit, max_budget, budget_duration, budget_reset_at,
		model_spend, model_max_budget, created_at, updated_at, created_by, updated_by, budget_id, soft_budget_cooldown)
		VALUES ($1, NULLIF($2,''), NULLIF($3,''), $4, $5, $6, $7::jsonb, NULLIF($8,''), NULLIF($9,''), $10, $11::jsonb, $12, $13, $14, $15,
		NULLIF($16,''), $17, $18::jsonb, $19::jsonb, $20, $21, NULLIF($22,''), NULLIF($23,''), NULLIF($24,''), $25)
		ON CONFLICT (token) DO UPDATE SET key_name=EXCLUDED.key_name, key_alias=EXCLUDED.key_alias, expires=EXCLUDED.expires,
		models=EXCLUDED.models, aliases=EXCLUDED.aliases, user_id=EXCLUDED.user_id, team_id=EXCLUDED.team_id,
		max_parallel_requests=EXCLUDED.max_parallel_requests, metadata=EXCLUDED.metadata, blocked=EXCLUDED.blocked,
		tpm_limit=EXCLUDED.tpm_limit, rpm_limit=EXCLUDED.rpm_limit, max_budget=EXCLUDED.max_budget,
		budget_duration=EXCLUDED.budget_duration, budget_reset_at=EXCLUDED.budget_reset_at,
		model_max_budget=EXCLUDED.model_max_budget, updated_at=EXCLUDED.updated_at, updated_by=EXCLUDED.updated_by,
		budget_id=EXCLUDED.budget_id, soft_budget_cooldown=EXCLUDED.soft_budget_cooldown`,
		k.Token, k.KeyName, k.KeyAlias, k.Spend, utc(k.Expires), strs(k.Models), jsonArg(k.Aliases),
		k.UserID, k.TeamID, k.MaxParallelRequests, jsonArg(k.Metadata), k.Blocked, k.TPMLimit, k.RPMLimit, k.MaxBudget,
		k.BudgetDuration, utc(k.BudgetResetAt), jsonArg(k.ModelSpend), jsonArg(k.ModelMaxBudget),
		nowUTC(k.CreatedAt), nowUTC(k.UpdatedAt), k.CreatedBy, k.UpdatedBy, k.BudgetID, k.SoftBudgetCooldown)
	if err != nil {
		return fmt.Errorf("key store: put key: %w", err)
	}
	return nil
}

func (p *Postgres) GetKey(ctx context.Context, token string) (*Key, error) {
	k, err := scanKey(p.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM "LiteLLM_VerificationToken" WHERE token=$1`, token))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("key store: get key: %w", err)
	}
	return k, err
}

func (p *Postgres) deleteOne(ctx context.Context, sql, id string) error {
	tag, err := p.pool.Exec(ctx, sql, id)
	if err != nil {
		return fmt.Errorf("key store: delete: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

func (p *Postgres) DeleteKey(ctx context.Context, token string) error {
	return p.deleteOne(ctx, `DELETE FROM "LiteLLM_VerificationToken" WHERE token=$1`, token)
}

func (p *Postgres) RekeyKey(ctx context.Context, oldToken, newToken string) error {
	tag, err := p.pool.Exec(ctx, `UPDATE "LiteLLM_VerificationToken" SET token=$2, updated_at=$3 WHERE token=$1`, oldToken, newToken, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("key store: regenerate: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

func (p *Postgres) ListKeys(ctx context.Context) ([]*Key, error) {
	return listRows(ctx, p, "keys", `SELECT `+keyCols+` FROM "LiteLLM_VerificationToken" ORDER BY token`, scanKey)
}

const teamCols = `team_id, COALESCE(team_alias,''), COALESCE(organization_id,''), COALESCE(admins, ARRAY[]::text[]), COALESCE(members, ARRAY[]::text[]),
	members_with_roles, metadata, max_budget, spend, COALESCE(models, ARRAY[]::text[]), max_parallel_requests::bigint, tpm_limit, rpm_limit,
	COALESCE(budget_duration,''), budget_reset_at, blocked, model_max_budget, model_spend, created_at, updated_at, soft_budget`

func scanTeam(row pgx.Row) (*Team, error) {
	t := &Team{}
	var mwr, md, mmb, ms []byte
	err := row.Scan(&t.TeamID, &t.TeamAlias, &t.OrganizationID, &t.Admins, &t.Members, &mwr, &md, &t.MaxBudget, &t.Spend, &t.Models,
		&t.MaxParallelRequests, &t.TPMLimit, &t.RPMLimit, &t.BudgetDuration, &t.BudgetResetAt, &t.Blocked, &mmb, &ms, &t.CreatedAt, &t.UpdatedAt, &t.SoftBudget)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var roles any
	_ = json.Unmarshal(mwr, &roles)
	if l, ok := roles.([]any); ok {
		t.MembersWithRoles = l
	} else {
		t.MembersWithRoles = []any{}
	}
	_ = json.Unmarshal(md, &t.Metadata)
	_ = json.Unmarshal(mmb, &t.ModelMaxBudget)
	_ = json.Unmarshal(ms, &t.ModelSpend)
	t.BudgetResetAt = utc(t.BudgetResetAt)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

func (p *Postgres) PutTeam(ctx context.Context, t *Team) error {
	roles := "[]"
	if t.MembersWithRoles != nil {
		roles = jsonArg(t.MembersWithRoles)
	}
	_, err := p.pool.Exec(ctx, `INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, organization_id, admins, members, members_with_roles,
		metadata, max_budget, spend, models, max_parallel_requests, tpm_limit, rpm_limit, budget_duration, budget_reset_at, blocked,
		model_max_budget, created_at, updated_at, soft_budget)
		VALUES ($1, NULLIF($2,''), NULLIF($3,''), $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12, $13, NULLIF($14,''), $15, $16, $17::jsonb, $18, $19, $20)
		ON CONFLICT (team_id) DO UPDATE SET team_alias=EXCLUDED.team_alias, organization_id=EXCLUDED.organization_id, admins=EXCLUDED.admins,
		members=EXCLUDED.members, members_with_roles=EXCLUDED.members_with_roles, metadata=EXCLUDED.metadata, max_budget=EXCLUDED.max_budget,
		models=EXCLUDED.models, max_parallel_requests=EXCLUDED.max_parallel_requests, tpm_limit=EXCLUDED.tpm_limit, rpm_limit=EXCLUDED.rpm_limit,
		budget_duration=EXCLUDED.budget_duration, budget_reset_at=EXCLUDED.budget_reset_at, blocked=EXCLUDED.blocked,
		model_max_budget=EXCLUDED.model_max_budget, updated_at=EXCLUDED.updated_at, soft_budget=EXCLUDED.soft_budget`,
		t.TeamID, t.TeamAlias, t.OrganizationID, strs(t.Admins), strs(t.Members), roles, jsonArg(t.Metadata), t.MaxBudget, t.Spend,
		strs(t.Models), t.MaxParallelRequests, t.TPMLimit, t.RPMLimit, t.BudgetDuration, utc(t.BudgetResetAt), t.Blocked,
		jsonArg(t.ModelMaxBudget), nowUTC(t.CreatedAt), nowUTC(t.UpdatedAt), t.SoftBudget)
	if err != nil {
		return fmt.Errorf("key store: put team: %w", err)
	}
	return nil
}

func (p *Postgres) GetTeam(ctx context.Context, id string) (*Team, error) {
	t, err := scanTeam(p.pool.QueryRow(ctx, `SELECT `+teamCols+` FROM "LiteLLM_TeamTable" WHERE team_id=$1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("key store: get team: %w", err)
	}
	return t, err
}

func (p *Postgres) DeleteTeam(ctx context.Context, id string) error {
	return p.deleteOne(ctx, `DELETE FROM "LiteLLM_TeamTable" WHERE team_id=$1`, id)
}

func (p *Postgres) ListTeams(ctx context.Context) ([]*Team, error) {
	return listRows(ctx, p, "teams", `SELECT `+teamCols+` FROM "LiteLLM_TeamTable" ORDER BY team_id`, scanTeam)
}

const userCols = `user_id, COALESCE(user_alias,''), COALESCE(team_id,''), COALESCE(teams, ARRAY[]::text[]), COALESCE(user_role,''), max_budget, spend,
	COALESCE(user_email,''), COALESCE(models, ARRAY[]::text[]), metadata, max_parallel_requests::bigint, tpm_limit, rpm_limit,
	COALESCE(budget_duration,''), budget_reset_at, model_max_budget, model_spend,
	COALESCE(created_at, CURRENT_TIMESTAMP), COALESCE(updated_at, CURRENT_TIMESTAMP)`

func scanUser(row pgx.Row) (*User, error) {
	u := &User{}
	var md, mmb, ms []byte
	err := row.Scan(&u.UserID, &u.UserAlias, &u.TeamID, &u.Teams, &u.UserRole, &u.MaxBudget, &u.Spend, &u.UserEmail, &u.Models, &md,
		&u.MaxParallelRequests, &u.TPMLimit, &u.RPMLimit, &u.BudgetDuration, &u.BudgetResetAt, &mmb, &ms, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal(md, &u.Metadata)
	_ = json.Unmarshal(mmb, &u.ModelMaxBudget)
	_ = json.Unmarshal(ms, &u.ModelSpend)
	u.BudgetResetAt = utc(u.BudgetResetAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, nil
}

func (p *Postgres) PutUser(ctx context.Context, u *User) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO "LiteLLM_UserTable" (user_id, user_alias, team_id, teams, user_role, max_budget, spend, user_email,
		models, metadata, max_parallel_requests, tpm_limit, rpm_limit, budget_duration, budget_reset_at, model_max_budget, created_at, updated_at)
		VALUES ($1, NULLIF($2,''), NULLIF($3,''), $4, NULLIF($5,''), $6, $7, NULLIF($8,''), $9, $10::jsonb, $11, $12, $13, NULLIF($14,''), $15, $16::jsonb, $17, $18)
		ON CONFLICT (user_id) DO UPDATE SET user_alias=EXCLUDED.user_alias, team_id=EXCLUDED.team_id, teams=EXCLUDED.teams,
		user_role=EXCLUDED.user_role, max_budget=EXCLUDED.max_budget, user_email=EXCLUDED.user_email, models=EXCLUDED.models,
		metadata=EXCLUDED.metadata, max_parallel_requests=EXCLUDED.max_parallel_requests, tpm_limit=EXCLUDED.tpm_limit,
		rpm_limit=EXCLUDED.rpm_limit, budget_duration=EXCLUDED.budget_duration, budget_reset_at=EXCLUDED.budget_reset_at,
		model_max_budget=EXCLUDED.model_max_budget, updated_at=EXCLUDED.updated_at`,
		u.UserID, u.UserAlias, u.TeamID, strs(u.Teams), u.UserRole, u.MaxBudget, u.Spend, u.UserEmail, strs(u.Models), jsonArg(u.Metadata),
		u.MaxParallelRequests, u.TPMLimit, u.RPMLimit, u.BudgetDuration, utc(u.BudgetResetAt), jsonArg(u.ModelMaxBudget),
		nowUTC(u.CreatedAt), nowUTC(u.UpdatedAt))
	if err != nil {
		return fmt.Errorf("key store: put user: %w", err)
	}
	return nil
}

func (p *Postgres) GetUser(ctx context.Context, id string) (*User, error) {
	u, err := scanUser(p.pool.QueryRow(ctx, `SELECT `+userCols+` FROM "LiteLLM_UserTable" WHERE user_id=$1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("key store: get user: %w", err)
	}
	return u, err
}

func (p *Postgres) DeleteUser(ctx context.Context, id string) error {
	return p.deleteOne(ctx, `DELETE FROM "LiteLLM_UserTable" WHERE user_id=$1`, id)
}

func (p *Postgres) ListUsers(ctx context.Context) ([]*User, error) {
	return listRows(ctx, p, "users", `SELECT `+userCols+` FROM "LiteLLM_UserTable" ORDER BY user_id`, scanUser)
}

// AddSpend adds the batch in one transaction: increments (spend = spend + x,
// never a read-modify-write in Go, so LiteLLM proxies writing the same rows
// keep counting too) and the spend log rows.
func (p *Postgres) AddSpend(ctx context.Context, s *Spend) error {
	if s.Empty() {
		return nil
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if s.BatchID != "" {
			tag, err := tx.Exec(ctx, `INSERT INTO llmgate_spend_batches (batch_id) VALUES ($1) ON CONFLICT DO NOTHING`, s.BatchID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return nil // already added
			}
		}
		b := &pgx.Batch{}
		for tok, v := range s.Keys {
			ms := "{}"
			if m := s.KeyModels[tok]; len(m) > 0 {
				ms = jsonArg(m)
			}
			// model_spend: add each model's amount to the stored one.
			b.Queue(`UPDATE "LiteLLM_VerificationToken" SET spend = spend + $2,
				model_spend = (SELECT COALESCE(jsonb_object_agg(k, COALESCE((model_spend->>k)::float8, 0) + COALESCE(($3::jsonb->>k)::float8, 0)), '{}'::jsonb)
					FROM jsonb_object_keys(model_spend || $3::jsonb) AS k)
				WHERE token = $1`, tok, v, ms)
		}
		for id, v := range s.Teams {
			b.Queue(`UPDATE "LiteLLM_TeamTable" SET spend = spend + $2 WHERE team_id = $1`, id, v)
		}
		for id, v := range s.Users {
			b.Queue(`UPDATE "LiteLLM_UserTable" SET spend = spend + $2 WHERE user_id = $1`, id, v)
		}
		for mk, v := range s.Members {
			team, user := SplitMemberKey(mk)
			b.Queue(`UPDATE "LiteLLM_TeamMembership" SET spend = spend + $3 WHERE team_id = $1 AND user_id = $2`, team, user, v)
		}
		for id, v := range s.EndUsers {
			b.Queue(`INSERT INTO "LiteLLM_EndUserTable" (user_id, spend, blocked) VALUES ($1, $2, false)
				ON CONFLICT (user_id) DO UPDATE SET spend = "LiteLLM_EndUserTable".spend + EXCLUDED.spend`, id, v)
		}
		for i := range s.Logs {
			l := &s.Logs[i]
			tags := l.RequestTags
			if tags == nil {
				tags = []string{}
			}
			b.Queue(`INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens,
				"startTime", "endTime", request_duration_ms, model, model_id, model_group, custom_llm_provider, "user", metadata, request_tags,
				team_id, end_user, status, cache_hit, cache_key, proxy_server_request, response)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16::jsonb,$17::jsonb,NULLIF($18,''),NULLIF($19,''),NULLIF($20,''),$21,$22,$23::jsonb,$24::jsonb)
				ON CONFLICT (request_id) DO NOTHING`,
				l.RequestID, l.CallType, l.APIKey, l.Spend, l.TotalTokens, l.PromptTokens, l.CompletionTokens,
				l.StartTime.UTC(), l.EndTime.UTC(), l.EndTime.Sub(l.StartTime).Milliseconds(), l.Model, l.ModelID, l.ModelGroup, l.Provider,
				l.User, jsonArg(l.Metadata), jsonArg(tags), l.TeamID, l.EndUser, l.Status, l.CacheHit, l.CacheKey, rawArg(l.Request), rawArg(l.Response))
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("key store: add spend: %w", err)
	}
	return nil
}

func (p *Postgres) ResetBudget(ctx context.Context, kind, id string, due, next time.Time) (bool, error) {
	var sql string
	switch kind {
	case "key":
		sql = `UPDATE "LiteLLM_VerificationToken" SET spend = 0, budget_reset_at = $3, soft_budget_cooldown = false WHERE token = $1 AND budget_reset_at <= $2`
	case "team":
		sql = `UPDATE "LiteLLM_TeamTable" SET spend = 0, budget_reset_at = $3 WHERE team_id = $1 AND budget_reset_at <= $2`
	case "user":
		sql = `UPDATE "LiteLLM_UserTable" SET spend = 0, budget_reset_at = $3 WHERE user_id = $1 AND budget_reset_at <= $2`
	case "budget":
		return p.resetBudgetRow(ctx, id, due, next)
	default:
		return false, fmt.Errorf("key store: reset budget: unknown kind %q", kind)
	}
	tag, err := p.pool.Exec(ctx, sql, id, due.UTC(), next.UTC())
	if err != nil {
		return false, fmt.Errorf("key store: reset budget: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

func (p *Postgres) SpendLogs(ctx context.Context, token string, limit int) ([]SpendLog, error) {
	return p.SpendLogsWhere(ctx, SpendLogFilter{Token: token, Limit: limit})
}

func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}
