// Package callbacks delivers LiteLLM's logging callbacks (generic_api,
// langfuse) from the outcome bus, off the request path.
//
// The Manager is one sink on the outcome bus. It keeps the try whose answer
// went to the client (one event per client request), turns it into the
// callback's payload (LiteLLM's StandardLoggingPayload for generic_api;
// a trace and a generation for Langfuse's ingestion API) and hands it to
// the callback's sender without blocking. Each sender owns a bounded queue
// and a goroutine that batches (DEFAULT_BATCH_SIZE events, or every
// DEFAULT_FLUSH_INTERVAL_SECONDS), posts with retry and back-off, and
// counts what it sent, dropped (queue full, or given up after the retries)
// and the failed posts, for the llmgate_callback_* metrics. Nothing here
// can delay or fail a client request.
//
// It does not import config: the gateway translates the config into
// Settings.
package callbacks
