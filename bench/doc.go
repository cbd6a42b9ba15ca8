// Package bench is the harness behind `make bench`: it starts the fake
// provider, a plain pass-through Envoy, `llmgate run` and (when it can be
// installed) LiteLLM's proxy, drives them with the vegeta load generator, reads
// the processes' memory and CPU from /proc, measures the control plane's
// compile and push times, and renders the figures as a Markdown report
// (docs/benchmarks.md).
//
// It may import the gateway's own packages (config, xds, envoy) to generate
// configs and drive the control plane, vegeta, and the standard library. It
// must never be imported by the gateway, and nothing here runs in `make test`
// except its fast unit tests: no process is started by a test.
package bench
