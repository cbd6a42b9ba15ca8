package keystore

// migrations are applied in order, each once, recorded in
// llmgate_schema_migrations. They create LiteLLM's tables (names, columns and
// types as in the schema.prisma the litellm package ships) only when missing
// and add only the columns the gateway reads or writes when an older LiteLLM
// schema lacks them; they never drop or change anything, so a LiteLLM proxy can
// keep using the same database.
var migrations = []string{
	// 1: the tables the gateway reads and writes.
	`CREATE TABLE IF NOT EXISTS "LiteLLM_VerificationToken" (
		"token" TEXT NOT NULL PRIMARY KEY,
		"key_name" TEXT,
		"key_alias" TEXT,
		"soft_budget_cooldown" BOOLEAN NOT NULL DEFAULT false,
		"spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
		"expires" TIMESTAMP(3),
		"models" TEXT[],
		"aliases" JSONB NOT NULL DEFAULT '{}',
		"config" JSONB NOT NULL DEFAULT '{}',
		"user_id" TEXT,
		"team_id" TEXT,
		"permissions" JSONB NOT NULL DEFAULT '{}',
		"max_parallel_requests" INTEGER,
		"metadata" JSONB NOT NULL DEFAULT '{}',
		"blocked" BOOLEAN,
		"tpm_limit" BIGINT,
		"rpm_limit" BIGINT,
		"max_budget" DOUBLE PRECISION,
		"budget_duration" TEXT,
		"budget_reset_at" TIMESTAMP(3),
		"allowed_cache_controls" TEXT[] DEFAULT ARRAY[]::TEXT[],
		"model_spend" JSONB NOT NULL DEFAULT '{}',
		"model_max_budget" JSONB NOT NULL DEFAULT '{}',
		"budget_id" TEXT,
		"created_at" TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP,
		"created_by" TEXT,
		"updated_at" TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP,
		"updated_by" TEXT
	);
	CREATE TABLE IF NOT EXISTS "LiteLLM_TeamTable" (
		"team_id" TEXT NOT NULL PRIMARY KEY,
		"team_alias" TEXT,
		"organization_id" TEXT,
		"admins" TEXT[],
		"members" TEXT[],
		"members_with_roles" JSONB NOT NULL DEFAULT '{}',
		"metadata" JSONB NOT NULL DEFAULT '{}',
		"max_budget" DOUBLE PRECISION,
		"spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
		"models" TEXT[],
		"max_parallel_requests" INTEGER,
		"tpm_limit" BIGINT,
		"rpm_limit" BIGINT,
		"budget_duration" TEXT,
		"budget_reset_at" TIMESTAMP(3),
		"blocked" BOOLEAN NOT NULL DEFAULT false,
		"created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
		"updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
		"model_spend" JSONB NOT NULL DEFAULT '{}',
		"model_max_budget" JSONB NOT NULL DEFAULT '{}'
	);
	CREATE TABLE IF NOT EXISTS "LiteLLM_UserTable" (
		"user_id" TEXT NOT NULL PRIMARY KEY,
		"user_alias" TEXT,
		"team_id" TEXT,
		"teams" TEXT[] DEFAULT ARRAY[]::TEXT[],
		"user_role" TEXT,
		"max_budget" DOUBLE PRECISION,
		"spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
		"user_email" TEXT,
		"models" TEXT[],
		"metadata" JSONB NOT NULL DEFAULT '{}',
		"max_parallel_requests" INTEGER,
		"tpm_limit" BIGINT,
		"rpm_limit" BIGINT,
		"budget_duration" TEXT,
		"budget_reset_at" TIMESTAMP(3),
		"model_spend" JSONB NOT NULL DEFAULT '{}',
		"model_max_budget" JSONB NOT NULL DEFAULT '{}',
		"created_at" TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP,
		"updated_at" TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP
	);
	CREATE TABLE IF NOT EXISTS "LiteLLM_SpendLogs" (
		"request_id" TEXT NOT NULL PRIMARY KEY,
		"call_type" TEXT NOT NULL,
		"api_key" TEXT NOT NULL DEFAULT '',
		"spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
		"total_tokens" INTEGER NOT NULL DEFAULT 0,
		"prompt_tokens" INTEGER NOT NULL DEFAULT 0,
		"completion_tokens" INTEGER NOT NULL DEFAULT 0,
		"startTime" TIMESTAMP(3) NOT NULL,
		"endTime" TIMESTAMP(3) NOT NULL,
		"request_duration_ms" INTEGER,
		"model" TEXT NOT NULL DEFAULT '',
		"model_id" TEXT DEFAULT '',
		"model_group" TEXT DEFAULT '',
		"custom_llm_provider" TEXT DEFAULT '',
		"api_base" TEXT DEFAULT '',
		"user" TEXT DEFAULT '',
		"metadata" JSONB DEFAULT '{}',
		"cache_hit" TEXT DEFAULT '',
		"cache_key" TEXT DEFAULT '',
		"request_tags" JSONB DEFAULT '[]',
		"team_id" TEXT,
		"end_user" TEXT,
		"status" TEXT
	);
	CREATE INDEX IF NOT EXISTS "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs"("startTime");
	CREATE INDEX IF NOT EXISTS "LiteLLM_VerificationToken_team_id_idx" ON "LiteLLM_VerificationToken"("team_id")`,
	// 2: columns the gateway uses that older LiteLLM schemas lack.
	`ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN IF NOT EXISTS "key_alias" TEXT;
	ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN IF NOT EXISTS "blocked" BOOLEAN;
	ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN IF NOT EXISTS "budget_reset_at" TIMESTAMP(3);
	ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN IF NOT EXISTS "model_spend" JSONB NOT NULL DEFAULT '{}';
	ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN IF NOT EXISTS "model_max_budget" JSONB NOT NULL DEFAULT '{}';
	ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN IF NOT EXISTS "created_at" TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP;
	ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN IF NOT EXISTS "created_by" TEXT;
	ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN IF NOT EXISTS "updated_at" TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP;
	ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN IF NOT EXISTS "updated_by" TEXT;
	ALTER TABLE "LiteLLM_TeamTable" ADD COLUMN IF NOT EXISTS "blocked" BOOLEAN NOT NULL DEFAULT false;
	ALTER TABLE "LiteLLM_TeamTable" ADD COLUMN IF NOT EXISTS "model_spend" JSONB NOT NULL DEFAULT '{}';
	ALTER TABLE "LiteLLM_TeamTable" ADD COLUMN IF NOT EXISTS "model_max_budget" JSONB NOT NULL DEFAULT '{}';
	ALTER TABLE "LiteLLM_UserTable" ADD COLUMN IF NOT EXISTS "model_spend" JSONB NOT NULL DEFAULT '{}';
	ALTER TABLE "LiteLLM_UserTable" ADD COLUMN IF NOT EXISTS "model_max_budget" JSONB NOT NULL DEFAULT '{}';
	ALTER TABLE "LiteLLM_UserTable" ADD COLUMN IF NOT EXISTS "budget_reset_at" TIMESTAMP(3);
	ALTER TABLE "LiteLLM_SpendLogs" ADD COLUMN IF NOT EXISTS "team_id" TEXT;
	ALTER TABLE "LiteLLM_SpendLogs" ADD COLUMN IF NOT EXISTS "end_user" TEXT;
	ALTER TABLE "LiteLLM_SpendLogs" ADD COLUMN IF NOT EXISTS "status" TEXT`,
	// 3: the gateway's own: spend batches already added (AddSpend is idempotent).
	`CREATE TABLE IF NOT EXISTS llmgate_spend_batches (batch_id TEXT PRIMARY KEY, added_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
	// 4: budgets, team memberships and customers (end users), as in LiteLLM's
	// schema.prisma; the key's budget_id and soft_budget_cooldown and the
	// team's soft_budget where an older schema lacks them.
	`CREATE TABLE IF NOT EXISTS "LiteLLM_BudgetTable" (
		"budget_id" TEXT NOT NULL PRIMARY KEY,
		"max_budget" DOUBLE PRECISION,
		"soft_budget" DOUBLE PRECISION,
		"max_parallel_requests" INTEGER,
		"tpm_limit" BIGINT,
		"rpm_limit" BIGINT,
		"model_max_budget" JSONB,
		"budget_duration" TEXT,
		"budget_reset_at" TIMESTAMP(3),
		"created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
		"created_by" TEXT NOT NULL,
		"updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
		"updated_by" TEXT NOT NULL
	);
	CREATE TABLE IF NOT EXISTS "LiteLLM_TeamMembership" (
		"user_id" TEXT NOT NULL,
		"team_id" TEXT NOT NULL,
		"spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
		"budget_id" TEXT,
		CONSTRAINT "LiteLLM_TeamMembership_pkey" PRIMARY KEY ("user_id", "team_id")
	);
	CREATE TABLE IF NOT EXISTS "LiteLLM_EndUserTable" (
		"user_id" TEXT NOT NULL PRIMARY KEY,
		"alias" TEXT,
		"spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
		"allowed_model_region" TEXT,
		"default_model" TEXT,
		"budget_id" TEXT,
		"blocked" BOOLEAN NOT NULL DEFAULT false
	);
	ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN IF NOT EXISTS "budget_id" TEXT;
	ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN IF NOT EXISTS "soft_budget_cooldown" BOOLEAN NOT NULL DEFAULT false;
	ALTER TABLE "LiteLLM_TeamTable" ADD COLUMN IF NOT EXISTS "soft_budget" DOUBLE PRECISION`,
	// 5: deployments added through /model/new (store_model_in_db), as in
	// LiteLLM's schema.prisma.
	`CREATE TABLE IF NOT EXISTS "LiteLLM_ProxyModelTable" (
		"model_id" TEXT NOT NULL PRIMARY KEY,
		"model_name" TEXT NOT NULL,
		"litellm_params" JSONB NOT NULL,
		"model_info" JSONB,
		"created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
		"created_by" TEXT NOT NULL,
		"updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
		"updated_by" TEXT NOT NULL
	)`,
	// 6: regenerated keys' old values during their grace_period, as in
	// LiteLLM's schema.prisma.
	`CREATE TABLE IF NOT EXISTS "LiteLLM_DeprecatedVerificationToken" (
		"id" TEXT NOT NULL PRIMARY KEY,
		"token" TEXT NOT NULL,
		"active_token_id" TEXT NOT NULL,
		"revoke_at" TIMESTAMP(3) NOT NULL,
		"created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
	);
	CREATE UNIQUE INDEX IF NOT EXISTS "LiteLLM_DeprecatedVerificationToken_token_key" ON "LiteLLM_DeprecatedVerificationToken"("token")`,
	// 7: a team member's own model list (LiteLLM_BudgetTable.allowed_models,
	// as in LiteLLM's schema.prisma) where an older schema lacks it.
	`ALTER TABLE "LiteLLM_BudgetTable" ADD COLUMN IF NOT EXISTS "allowed_models" TEXT[] DEFAULT ARRAY[]::TEXT[]`,
	// 8: a team member's temporary budget increase (LiteLLM_BudgetTable's
	// temp_budget_increase / temp_budget_expiry, as in LiteLLM's schema.prisma)
	// where an older schema lacks them.
	`ALTER TABLE "LiteLLM_BudgetTable" ADD COLUMN IF NOT EXISTS "temp_budget_increase" DOUBLE PRECISION;
	ALTER TABLE "LiteLLM_BudgetTable" ADD COLUMN IF NOT EXISTS "temp_budget_expiry" TIMESTAMP(3)`,
	// 9: the gateway's own: master key rotations for the other instances on
	// the same database (D78; the new key encrypted, never in plaintext).
	`CREATE TABLE IF NOT EXISTS llmgate_master_key_rotations (from_hash TEXT PRIMARY KEY, new_key TEXT NOT NULL, rotated_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
	// 10: the audit log (store_audit_logs), as in LiteLLM's schema.prisma.
	auditMigration,
	// 11: the spend log's bodies (store_prompts_in_spend_logs, D117), as in
	// LiteLLM's schema.prisma.
	`ALTER TABLE "LiteLLM_SpendLogs" ADD COLUMN IF NOT EXISTS "messages" JSONB DEFAULT '{}';
	ALTER TABLE "LiteLLM_SpendLogs" ADD COLUMN IF NOT EXISTS "response" JSONB DEFAULT '{}';
	ALTER TABLE "LiteLLM_SpendLogs" ADD COLUMN IF NOT EXISTS "proxy_server_request" JSONB DEFAULT '{}'`,
}
