// Package extproc holds the gateway's ext_proc servers (envoy.service.ext_proc.v3).
//
// The request filter runs at router level, once per request: it answers the
// management endpoints, checks the key, resolves the model to a model group,
// builds the attempt plan, and tags the request for its route. The attempt
// filter runs as an upstream filter, once per upstream try: it translates the
// body for the deployment Envoy picked, sets path, host and credentials, and
// on the way back translates status, headers and body (streams chunk by chunk).
//
// Beside them the same gRPC server serves Envoy's access-log service
// (envoy.service.accesslog.v3, als.go): per-try and per-request entries,
// joined by request id, report the tries of fast requests that no attempt
// filter sees (docs/architecture.md D44). Its joins are the one piece of
// state kept in process, bounded, and only within one replica's stream.
//
// Both are stateless between gRPC streams: whatever the attempt filter needs
// travels in the request's dynamic metadata (namespace llmgate.ctx, a
// RequestContext proto; docs/architecture.md D2); shared state lives only in
// internal/store, and the ticket key comes with the routing table (D36). Any
// replica can serve any stream.
//
// It reads the compiled model (internal/model, through the router) for
// everything the config's routing keys decide: mock switches, limits,
// timeouts, clusters. It may import config, router, translator, internal/*
// and the Envoy ext_proc and access-log APIs. It must never make HTTP calls to providers: Envoy is the data plane.
package extproc
