// Package jwtauth is LiteLLM's JWT auth (general_settings.enable_jwt_auth
// with litellm_jwtauth, docs/architecture.md D97): the identity provider's
// public keys (JWT_PUBLIC_KEY_URL), fetched and cached off the request path
// by a KeySet; a Verifier that checks a token's signature and claims with
// github.com/golang-jwt/jwt/v5 against the cached keys only (no network call
// per request; a token seen before under the same keys skips the signature
// check until its exp, at most 5 minutes) and maps its claims to a Principal
// (admin by scope, team, user, end user) with LiteLLM's route rules; and
// LiteLLM's route groups
// (LiteLLMRoutes: openai_routes, management_routes, …) that the route
// settings name.
//
// It imports config and standard or maintained libraries (golang-jwt,
// go-jose for JWK parsing); never extproc, keys or Envoy types. It does no
// cryptography of its own. Refusals are *Error values in LiteLLM's terms.
package jwtauth
