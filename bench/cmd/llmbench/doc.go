// Command llmbench runs the gateway benchmarks (`make bench`, `make
// bench-smoke`): it measures a direct call to the fake provider, a plain
// pass-through Envoy, `llmgate run` and LiteLLM's proxy side by side, prints a
// Markdown report and, with --doc, writes it into docs/benchmarks.md.
//
// With --pin (the default on a machine with two or more CPUs) it re-executes
// itself under `taskset -c 0` and starts the systems under test on CPU 1.
//
// It may import the bench package and the gateway's packages for finding
// Envoy; the gateway never imports it.
package main
