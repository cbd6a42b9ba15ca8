// Package configtest holds test helpers for code that reads llmgate's
// configs: the example configs parsed with their os.environ/ references
// stubbed.
package configtest
