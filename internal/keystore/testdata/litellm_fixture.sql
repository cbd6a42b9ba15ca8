-- Rows as LiteLLM 1.108.7 writes them into the tables of litellm_schema.sql: keys
-- hashed with its hash_token (sha256 of the key, hex), a team with a member and the
-- member's budget, a user, and a deployment of store_model_in_db whose litellm_params
-- LiteLLM encrypted under LITELLM_SALT_KEY=sk-fixture-salt (model: its default NaCl
-- scheme, api_key: its v2:gcm: scheme; internal/keys/testdata/litellm_crypto.json).
-- api_base is left unencrypted ({{API_BASE}} is the test's fake provider): LiteLLM
-- and llmgate both take a value that does not decrypt as written.
INSERT INTO "LiteLLM_BudgetTable" (budget_id, max_budget, rpm_limit, created_by, updated_by)
VALUES ('fixture-member-budget', 5, 100, 'default_user_id', 'default_user_id');
INSERT INTO "LiteLLM_UserTable" (user_id, user_alias, user_role, teams, models, spend, max_budget, metadata)
VALUES ('fixture-user', 'Fixture User', 'internal_user', ARRAY['fixture-team'], ARRAY[]::TEXT[], 0.5, 20, '{}');
INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, admins, members, members_with_roles, metadata, max_budget, spend, models)
VALUES ('fixture-team', 'Fixture', ARRAY[]::TEXT[], ARRAY['fixture-user'],
        '[{"role": "user", "user_id": "fixture-user", "user_email": null}]', '{}', 100, 2, ARRAY['fixture-gpt']);
INSERT INTO "LiteLLM_TeamMembership" (user_id, team_id, spend, budget_id)
VALUES ('fixture-user', 'fixture-team', 0.25, 'fixture-member-budget');
INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, spend, models, user_id, team_id, max_budget, metadata,
        created_by, updated_by)
VALUES (encode(sha256('sk-litellm-fixture-key'::bytea), 'hex'), 'sk-...-key', 'fixture', 1.5, ARRAY['fixture-gpt'],
        'fixture-user', 'fixture-team', 10, '{"source": "litellm"}', 'default_user_id', 'default_user_id');
INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, spend, models, blocked, created_by, updated_by)
VALUES (encode(sha256('sk-litellm-blocked-key'::bytea), 'hex'), 'sk-...-key', 'blocked', 0, ARRAY[]::TEXT[], true,
        'default_user_id', 'default_user_id');
INSERT INTO "LiteLLM_ProxyModelTable" (model_id, model_name, litellm_params, model_info, created_by, updated_by)
VALUES ('fixture-model-1', 'fixture-gpt', '{"model": "38Ssdv1q_Fi_yNwXIpUydWmAmtQu-rA0jM4Y6SjLz9UHVihApsxHQMlMtYi3e9UJnAs2J9c=", "api_key": "v2:gcm:XiZhvDpWXI4T7t8CouGlTNgFcks936dRFGpZBWKCbOzJde5mppIHAZANWvKjWPZQYLb7Ew==", "api_base": "{{API_BASE}}"}',
        '{"id": "fixture-model-1", "db_model": true}', 'default_user_id', 'default_user_id');
