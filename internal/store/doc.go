// Package store holds the state shared between requests and between gateway
// instances: per-deployment per-minute usage counters (rpm, tpm), in-flight
// counts, failure counts, cooldowns, latency lists, and a small key/value space
// with TTLs (used by the cache and virtual keys).
//
// Two implementations sit behind the one Store interface: Memory (the default,
// one instance) and Redis (go-redis/v9; several instances behave as one). The
// Redis store keeps a local Memory mirror of every write and serves from it
// while Redis is unreachable, so no operation fails or blocks long because
// Redis is down. Two pub/sub channels carry, off the request path, what the
// instances keep in memory: cooldowns (redis_watch.go) and the router's stored
// pins (redis_pins.go, D179).
//
// It may import the standard library and go-redis (not config: the caller
// passes RedisSettings). It must never import Envoy, ext_proc or router code, and holds no routing decisions: the
// caller passes limits and thresholds in.
package store
