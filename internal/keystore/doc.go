// Package keystore holds virtual keys, teams, users and their spend: the
// records LiteLLM keeps in LiteLLM_VerificationToken, LiteLLM_TeamTable,
// LiteLLM_UserTable and LiteLLM_SpendLogs, behind one interface (Store) with
// two implementations run by the same tests:
//
//   - Embedded (OpenEmbedded): a JSON-lines log under a data directory, each
//     change fsynced before it is acknowledged, replayed at start. Used when
//     general_settings.database_url is not set.
//   - PostgreSQL (OpenPostgres, pgx/v5): LiteLLM's own tables and columns, so
//     an existing LiteLLM database keeps working; versioned migrations create
//     what is missing and never drop anything.
//
// Nothing here is on the request path: the gateway reads keys from an
// in-memory cache filled from the store (extproc), and spend reaches the store
// in batches. It imports only the standard library and pgx; never config,
// extproc or Envoy types.
package keystore
