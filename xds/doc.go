// Package xds turns a loaded LiteLLM config into Envoy resources and serves
// them over ADS.
//
// Pure builder functions come first, one file per resource kind
// (cluster.go, route.go, listener.go): they take the config and Options and
// return protos, read no file and no environment. server.go holds the
// go-control-plane snapshot cache and the gRPC server.
//
// It may import config and the Envoy API types. It must never import
// extproc or translator: the data plane's semantics live there.
package xds
