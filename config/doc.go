// Package config is the LiteLLM proxy config model: it reads a LiteLLM
// config.yaml unchanged, resolves it and validates it.
//
// What the room holds:
//   - Load / Parse: yaml.v3 nodes, so that every Diagnostic carries file:line
//     and a key path. All errors are collected into one *LoadError; warnings
//     (keys LiteLLM accepts that llmgate does not implement yet) go to
//     Config.Warnings and are never dropped silently.
//   - Environment: environment_variables are read first and put in front of
//     the process environment in the lookup used for resolution (LiteLLM
//     resolves in the wrong order, issues #8919 and #22088; we do not). Then
//     every string value starting with os.environ/ is replaced, at any depth,
//     lists included. Parse never changes the process environment; Load also
//     os.Setenv's environment_variables after a successful parse, as LiteLLM
//     does, so code that reads the environment itself (the AWS SDK, Redis
//     clients) sees them.
//   - Providers (providers.go): the provider table, SplitModel and the env
//     vars each provider's deployments fall back on for api_key, api_base,
//     api_version, AWS credentials and region, and Vertex project/location.
//   - Known keys (keys.go): every documented LiteLLM key with its status
//     (Supported, Partial, NotYet). docs/config-reference.md is generated
//     from it (go test ./config -update).
//   - Effective settings: RouterSettings hold router_settings, then the
//     litellm_settings keys that feed the router, then LiteLLM's defaults.
//
// # Deployment ids
//
// Deployment.ID is model_info.id when set. Otherwise it is the first 12 hex
// digits of SHA-256 over these fields, each followed by a NUL byte:
//
//	model_name, litellm_params.model, api_base (without ?query), api_version,
//	aws_region_name, vertex_project, vertex_location, organization,
//	index
//
// Values are as written in the config after os.environ/ resolution and before
// provider env defaults fill anything in. index is the entry's position (from
// 0) among the entries with the same model_name and litellm_params.model, in
// file order. No secret (api_key, AWS keys, vertex_credentials) is hashed, so
// rotating a key keeps the id; the id changes when one of the fields above
// changes, or when an entry with the same model_name and model is inserted
// before it. Two deployments with the same id are an error.
//
// # Providers
//
// The provider is the part of litellm_params.model before the first '/', when
// it is a known one; otherwise a bare name is inferred (claude* → anthropic,
// everything else → openai). An unknown prefix is an error. A model that
// starts with '*' ("model: '*'") names no provider: Deployment.Provider is
// empty and the provider is decided per request by SplitModel on the
// substituted model.
//
// Imports: the standard library, gopkg.in/yaml.v3 and llmgate's leaf packages
// internal/provider (the provider registry), internal/metricnames and
// internal/msgparams (data shared with translator), plus internal/secrets:
// with general_settings.key_management_system set, Load reads the named
// secrets from that manager (the only network I/O here, at load and reload,
// never on a request). Nothing of Envoy, xDS or gRPC enters this package. It
// never logs, so it never logs a secret.
package config
