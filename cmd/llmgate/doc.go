// Command llmgate runs a LiteLLM proxy config.yaml on Envoy.
//
//	llmgate run [--config FILE] [--port 4000]   control plane + ext_proc + Envoy in one process
//	llmgate validate --config FILE               report errors (file:line) and unimplemented keys
//	llmgate render --config FILE                 print the Envoy resources as YAML
package main
