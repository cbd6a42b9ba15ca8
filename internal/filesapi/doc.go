// Package filesapi is LiteLLM's Files and Batches API routes (D147):
// which route a path is, which provider a request names and that
// provider's credentials (files_settings, else the environment), the
// request to the provider's own Files or Batches API, the checks LiteLLM
// makes of an upload before it forwards it, and the provider's errors in
// LiteLLM's words. The request filter (extproc/files.go) calls it and
// answers the client itself.
package filesapi
