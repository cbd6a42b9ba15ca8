package contract

// Keys of ContextMetadataNamespace that the request filter writes for a
// request whose plan retries a deployment on itself, read by the module's
// spacing filter on each try (docs/architecture.md D59), and the key of
// SpacedMetadataNamespace it reads. String values: the module reads strings.
const (
	// SpacingTimeoutKey is the try timeout in milliseconds.
	SpacingTimeoutKey = "spacing_timeout_ms"
	// SpacingHoldsKey lists, comma-separated, LiteLLM's wait in
	// milliseconds before each try of the plan (0: none).
	SpacingHoldsKey = "spacing_holds_ms"
	// SpacingAfterKey (in SpacedMetadataNamespace) is the index of the last
	// try whose response carried its retry's wait as Retry-After: the
	// attempt filter's "after", as a string.
	SpacingAfterKey = "after_s"
	// SpacingTimeoutHeader marks the module spacing filter's 408 for a try
	// whose timeout passed: the attempt filter adds no Retry-After to it,
	// the next try's wait is the spacing filter's (removed from every
	// client response with the other x-llmgate-* headers, D22).
	SpacingTimeoutHeader = "x-llmgate-timeout"
)
