package xds

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// DefaultMaxInFlight is the gateway's in-flight ceiling when
// general_settings.global_max_parallel_requests is unset: every circuit
// breaker (connections, pending requests, requests and concurrent retries, per
// cluster) is sized to it. Envoy's defaults (1,024 requests, 3 concurrent
// retries per cluster) are far below what one gateway serves: the 1,025th
// request in flight got an instant 503, and retries under load overflowed
// (upstream_rq_retry_overflow) while healthy deployments sat idle. It matches
// the bootstrap's bound on client connections.
const DefaultMaxInFlight = 100_000

// maxInFlight is the ceiling of o (DefaultMaxInFlight when unset).
func (o Options) maxInFlight() uint32 {
	if o.MaxInFlight == 0 {
		return DefaultMaxInFlight
	}
	return o.MaxInFlight
}

// deploymentCircuitBreakers: a deployment cluster admits up to the ceiling of
// connections, pending requests, requests and retries at once. Retries are
// bounded per request by num_retries (itself bounded by the config), so no
// retry budget is set: a budget would refuse the retries that keep clients
// from seeing a failing deployment's errors. A deployment's own
// max_parallel_requests/rpm/tpm limits are applied by the request filter
// (LiteLLM's 429s), not here.
func deploymentCircuitBreakers(o Options) *clusterv3.CircuitBreakers {
	n := o.maxInFlight()
	return circuitBreakers(n, n)
}

// extProcCircuitBreakers: each request in flight holds a stream of the
// request filter and one of the attempt filter on the ext_proc cluster, and
// /health adds one more per deployment called; twice the ceiling plus
// headroom.
func extProcCircuitBreakers(o Options) *clusterv3.CircuitBreakers {
	n := o.maxInFlight()
	streams := uint32(min(uint64(n)*2+1024, 1<<31))
	return circuitBreakers(streams, 0)
}

func circuitBreakers(requests, retries uint32) *clusterv3.CircuitBreakers {
	th := func(p corev3.RoutingPriority) *clusterv3.CircuitBreakers_Thresholds {
		return &clusterv3.CircuitBreakers_Thresholds{
			Priority:           p,
			MaxConnections:     wrapperspb.UInt32(requests),
			MaxPendingRequests: wrapperspb.UInt32(requests),
			MaxRequests:        wrapperspb.UInt32(requests),
			MaxRetries:         wrapperspb.UInt32(retries),
		}
	}
	return &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{
		th(corev3.RoutingPriority_DEFAULT), th(corev3.RoutingPriority_HIGH),
	}}
}

// Header limits. Envoy applies one limit both to what a client sends (the
// codec answers 431) and to the headers after an ext_proc mutation (the
// filter fails with header_mutation_result_exceeds_limit, a 503). Envoy's and
// the gateway's own headers (x-request-id, x-forwarded-*, the group, retry and
// timeout headers, the provider's credentials) would push a client that is
// just under the limit over it. So Envoy's limit is raised above what a
// client may send, and the request filter refuses a client over the client
// limit with an OpenAI-format 431.
const (
	// EnvoyMaxHeaders and EnvoyMaxHeadersKB are the listener's limits.
	EnvoyMaxHeaders   = 128
	EnvoyMaxHeadersKB = 80
	// ClientMaxHeaders and ClientMaxHeaderBytes are what a client may send
	// (Envoy's defaults: 100 headers, 60 KiB), counted as the request
	// filter sees them.
	ClientMaxHeaders     = 100
	ClientMaxHeaderBytes = 60 << 10
)

// RequestHeadersTimeout bounds the time a client takes to send its request
// headers: a slow client no longer holds a connection until the idle timeout.
const RequestHeadersTimeout = 10 * time.Second
