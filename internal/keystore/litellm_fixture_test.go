package keystore

import (
	"context"
	"testing"

	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// litellmSchema is LiteLLM_VerificationToken and LiteLLM_TeamTable as
// Prisma creates them from LiteLLM's schema.prisma (columns the gateway does
// not use included), plus a key and team written as LiteLLM writes them.
const litellmSchema = `
CREATE TABLE "LiteLLM_VerificationToken" (
    "token" TEXT NOT NULL, "key_name" TEXT, "key_alias" TEXT, "soft_budget_cooldown" BOOLEAN NOT NULL DEFAULT false,
    "spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0, "expires" TIMESTAMP(3), "models" TEXT[], "aliases" JSONB NOT NULL DEFAULT '{}',
    "config" JSONB NOT NULL DEFAULT '{}', "router_settings" JSONB DEFAULT '{}', "user_id" TEXT, "team_id" TEXT, "agent_id" TEXT,
    "project_id" TEXT, "permissions" JSONB NOT NULL DEFAULT '{}', "max_parallel_requests" INTEGER, "metadata" JSONB NOT NULL DEFAULT '{}',
    "blocked" BOOLEAN, "tpm_limit" BIGINT, "rpm_limit" BIGINT, "max_budget" DOUBLE PRECISION, "budget_duration" TEXT,
    "budget_reset_at" TIMESTAMP(3), "allowed_cache_controls" TEXT[] DEFAULT ARRAY[]::TEXT[], "allowed_routes" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "policies" TEXT[] DEFAULT ARRAY[]::TEXT[], "access_group_ids" TEXT[] DEFAULT ARRAY[]::TEXT[], "model_spend" JSONB NOT NULL DEFAULT '{}',
    "model_max_budget" JSONB NOT NULL DEFAULT '{}', "budget_id" TEXT, "organization_id" TEXT, "object_permission_id" TEXT,
    "created_at" TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP, "created_by" TEXT, "updated_at" TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP,
    "updated_by" TEXT, "last_active" TIMESTAMP(3), "rotation_count" INTEGER DEFAULT 0, "auto_rotate" BOOLEAN DEFAULT false,
    "rotation_interval" TEXT, "last_rotation_at" TIMESTAMP(3), "key_rotation_at" TIMESTAMP(3), "budget_limits" JSONB,
    CONSTRAINT "LiteLLM_VerificationToken_pkey" PRIMARY KEY ("token"));
CREATE TABLE "LiteLLM_TeamTable" (
    "team_id" TEXT NOT NULL, "team_alias" TEXT, "organization_id" TEXT, "object_permission_id" TEXT, "admins" TEXT[], "members" TEXT[],
    "members_with_roles" JSONB NOT NULL DEFAULT '{}', "metadata" JSONB NOT NULL DEFAULT '{}', "max_budget" DOUBLE PRECISION,
    "soft_budget" DOUBLE PRECISION, "spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0, "models" TEXT[], "max_parallel_requests" INTEGER,
    "tpm_limit" BIGINT, "rpm_limit" BIGINT, "budget_duration" TEXT, "budget_reset_at" TIMESTAMP(3), "blocked" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "model_spend" JSONB NOT NULL DEFAULT '{}', "model_max_budget" JSONB NOT NULL DEFAULT '{}', "router_settings" JSONB DEFAULT '{}',
    "team_member_permissions" TEXT[] DEFAULT ARRAY[]::TEXT[], "access_group_ids" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "policies" TEXT[] DEFAULT ARRAY[]::TEXT[], "default_team_member_models" TEXT[] DEFAULT ARRAY[]::TEXT[], "budget_limits" JSONB,
    "model_id" INTEGER, "allow_team_guardrail_config" BOOLEAN NOT NULL DEFAULT false,
    CONSTRAINT "LiteLLM_TeamTable_pkey" PRIMARY KEY ("team_id"));
-- sk-litellm-fixture, hashed as LiteLLM's hash_token: sha256 of the UTF-8 key, hex.
INSERT INTO "LiteLLM_VerificationToken" (token, key_alias, spend, models, team_id, max_budget, rotation_count, metadata, updated_at)
VALUES (encode(sha256('sk-litellm-fixture'::bytea), 'hex'), 'legacy', 1.25, ARRAY['gpt-4o'], 'legacy-team', 5, 2, '{"env":"prod"}', '2026-01-01');
INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, spend, models, admins, members, members_with_roles)
VALUES ('legacy-team', 'Legacy', 3, ARRAY[]::TEXT[], ARRAY[]::TEXT[], ARRAY['u1'], '[{"role":"user","user_id":"u1"}]');
`

// An existing LiteLLM database keeps working: its keys are found by the
// hash of the key, spend grows on top of what LiteLLM counted, and columns the
// gateway does not know are left as they were.
func TestPostgresExistingLiteLLMDatabase(t *testing.T) {
	srv := pgtest.Start(t)
	url := srv.NewDatabase(t)
	srv.Exec(t, url, litellmSchema)
	ctx := context.Background()
	s, err := OpenPostgres(ctx, url)
	must(t, err)
	defer s.Close()
	k, err := s.GetKey(ctx, HashKey("sk-litellm-fixture"))
	must(t, err)
	if k.KeyAlias != "legacy" || k.Spend != 1.25 || len(k.Models) != 1 || k.TeamID != "legacy-team" || *k.MaxBudget != 5 || k.Metadata["env"] != "prod" {
		t.Fatalf("LiteLLM key read as %+v", k)
	}
	must(t, s.AddSpend(ctx, &Spend{Keys: map[string]float64{k.Token: 0.5}, Teams: map[string]float64{"legacy-team": 0.5}}))
	k.KeyAlias = "renamed"
	must(t, s.PutKey(ctx, k))
	got := srv.Exec(t, url, `SELECT key_alias, spend, rotation_count FROM "LiteLLM_VerificationToken"`)
	if got != "renamed|1.75|2" {
		t.Fatalf("row after spend and update: %q", got)
	}
	tm, err := s.GetTeam(ctx, "legacy-team")
	must(t, err)
	if tm.Spend != 3.5 || len(tm.MembersWithRoles) != 1 {
		t.Fatalf("team %+v", tm)
	}
	// Opening again applies no migration twice.
	s2, err := OpenPostgres(ctx, url)
	must(t, err)
	s2.Close()
	if v := srv.Exec(t, url, `SELECT count(*) FROM llmgate_schema_migrations`); v != "5" {
		t.Fatalf("migrations recorded: %s", v)
	}
}
