// Package msgparams holds, as plain data, the litellm_params that rewrite a
// chat request's messages before the call (docs/architecture.md D119):
// ensure_alternating_roles, user_continue_message, assistant_continue_message
// and cache_control_injection_points. config reads them from the YAML (the one
// place the keys are interpreted) and translator.RewriteMessages applies them;
// both share these types so that nothing is copied between them per request.
//
// It is a leaf: standard library only, no behaviour.
package msgparams
