// Command dynmod is llmgate's request filter inside Envoy: a Go dynamic
// module (go build -buildmode=c-shared -o bin/libllmgate.so ./dynmod) that
// `llmgate run --request-filter=module` makes its Envoy load into the
// listener, before the ext_proc request filter (docs/architecture.md D53).
//
// The module serves the common request itself (the master key, an exact
// model group or alias, a plain OpenAI body) and hands every other request
// to the ext_proc request filter unchanged. What it serves it answers
// exactly as the ext_proc filter would, because it runs the same code
// (extproc.ModuleFilter, on the config `llmgate run` pushes it over ADS,
// table.go): the plan and context metadata, the group header, the prepared
// body, the error replies. This package holds the cgo bindings (abi.go,
// dm.h), the hooks (hooks.c, hooks.go) and the glue (filter.go, table.go).
// The per-request hooks Envoy calls are C functions (hooks.c) that enter Go
// only for the calls a request's state needs (hookmask.go, D81).
//
// The bindings (abi.go, dm.h) are written for Envoy 1.40.0's ABI "v0.2.0";
// Envoy only warns on a mismatch, so `llmgate run` refuses to serve unless
// Envoy logs that the version matched.
package main

// main is never called: Envoy dlopens the library and calls its hooks.
func main() {}
