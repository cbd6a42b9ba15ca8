package filter

// SpacingFilterName is the module's filter_name as the first upstream HTTP
// filter of every deployment cluster (docs/architecture.md D59): it spaces
// a retry on the same deployment by LiteLLM's wait and runs the try's
// timeout from the moment the try goes out. Its filter_config is a Config
// without a table socket.
const SpacingFilterName = "llmgate_spacing"
