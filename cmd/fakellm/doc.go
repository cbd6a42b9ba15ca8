// Command fakellm runs the fake LLM provider (internal/fakeprovider) as a
// standalone server for end-to-end runs and benchmarks. It prints its URL
// on stdout and stops on SIGINT or SIGTERM.
//
// It may import internal/fakeprovider and the standard library only; no
// gateway package belongs here.
package main
