// Package outcome carries what happened on each upstream try, off the
// request path, to whoever wants to know: metrics, spend accounting,
// logging callbacks.
//
// A source (today the attempt filter, after its last reply to Envoy; later
// Envoy's access-log service) publishes one Try per upstream try on a Bus.
// The Bus hands each event to every registered sink through the sink's own
// bounded queue and goroutine: Publish never blocks and never fails a
// request; when a sink falls behind, its events are dropped and counted.
// Consumers see only Try, so the source can change without touching them.
//
// It is a leaf: it imports only the standard library. No config, router,
// Envoy or gRPC type may enter it.
package outcome
