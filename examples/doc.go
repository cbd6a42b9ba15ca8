// Package examples holds runnable LiteLLM configs, one feature per file, each
// with a short comment header. Every file here is loaded by a test in
// config/ (TestExamplesLoad) and must load without error or warning.
//
// Default is default.yaml, embedded: the config `llmgate run` uses when it is
// given none. It works offline (mock_response deployments, no master_key).
//
// This package embeds files only: it imports nothing but embed, and no code
// that does anything belongs here.
package examples
