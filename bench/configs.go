package bench

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Names used by every target, so that the same request body works on all.
const (
	// ModelGroup is the model_name of the typical config's deployments.
	ModelGroup = "bench-gpt"
	// MasterKey is the typical config's general_settings.master_key.
	MasterKey = "sk-llmbench-master"
)

// TypicalConfig is the config that llmgate and LiteLLM both run: three
// deployments of one model group on the fake provider (each under its own
// path prefix, dep-1..dep-3, so a response tells which one served it),
// simple-shuffle routing and a master key. prefix lets a reload move the
// deployments to new api_bases.
func TypicalConfig(fakeURL, prefix string) string {
	var b strings.Builder
	b.WriteString("model_list:\n")
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&b, `  - model_name: %s
    litellm_params:
      model: openai/gpt-4o
      api_base: %s/%sdep-%d/v1
      api_key: sk-fake-provider-%d
`, ModelGroup, fakeURL, prefix, i, i)
	}
	fmt.Fprintf(&b, `router_settings:
  routing_strategy: simple-shuffle
general_settings:
  master_key: %s
`, MasterKey)
	return b.String()
}

// Model groups of the other configs (issue 10: the same figures, no target).
const (
	RedisModelGroup     = "bench-gpt-limited"
	AnthropicModelGroup = "bench-claude"
)

// RedisConfig is the typical config with rpm/tpm limits counted in Redis:
// usage-based-routing-v2 (LiteLLM's strategy that enforces them), limits
// high enough never to be reached, so every request pays for the counting.
func RedisConfig(fakeURL, redisAddr string) string {
	host, port, _ := strings.Cut(redisAddr, ":")
	var b strings.Builder
	b.WriteString("model_list:\n")
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&b, `  - model_name: %s
    litellm_params:
      model: openai/gpt-4o
      api_base: %s/dep-%d/v1
      api_key: sk-fake-provider-%d
      rpm: 1000000
      tpm: 1000000000
`, RedisModelGroup, fakeURL, i, i)
	}
	fmt.Fprintf(&b, `router_settings:
  routing_strategy: usage-based-routing-v2
  redis_host: %s
  redis_port: %s
general_settings:
  master_key: %s
`, host, port, MasterKey)
	return b.String()
}

// RedisSmallConfig is the Redis config with one deployment of the group
// capped at rpm: 50 (D72: an rpm under 100, which the module hands to
// ext_proc before D72): the bench reaches the cap at once, and the plans
// leave that deployment out for the rest of the minute.
func RedisSmallConfig(fakeURL, redisAddr string) string {
	return strings.Replace(RedisConfig(fakeURL, redisAddr), "rpm: 1000000\n", "rpm: 50\n", 1)
}

// ParallelConfig is the typical config with max_parallel_requests on each
// deployment (never reached by the bench) and least-busy routing: the
// module counts every try in flight (D77); before, ext_proc served it.
func ParallelConfig(fakeURL string) string {
	s := strings.Replace(TypicalConfig(fakeURL, ""), "routing_strategy: simple-shuffle", "routing_strategy: least-busy", 1)
	return strings.ReplaceAll(s, "      api_key: sk-fake", "      max_parallel_requests: 1000\n      api_key: sk-fake")
}

// AnthropicConfig is three Anthropic deployments on the fake provider: the
// gateway translates every request and response (OpenAI ⇄ Messages API).
func AnthropicConfig(fakeURL string) string {
	var b strings.Builder
	b.WriteString("model_list:\n")
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&b, `  - model_name: %s
    litellm_params:
      model: anthropic/claude-3-5-haiku-20241022
      api_base: %s/dep-%d
      api_key: sk-ant-fake-%d
`, AnthropicModelGroup, fakeURL, i, i)
	}
	b.WriteString("router_settings:\n  routing_strategy: simple-shuffle\n")
	fmt.Fprintf(&b, "general_settings:\n  master_key: %s\n", MasterKey)
	return b.String()
}

// ObservedConfig is the typical config with issue 12's observability on:
// the prometheus callback, OTel traces and GenAI metrics (every request
// sampled) and the generic_api logging callback, exporting to sinkURL (a
// local receiver that answers 200), so the cost of observing is measured
// against the typical config.
func ObservedConfig(fakeURL, sinkURL string) string { return ObservedConfigEnv(fakeURL, sinkURL, nil) }

// ObservedConfigEnv is ObservedConfig with more environment_variables
// (OTEL_TRACES_SAMPLER, OTEL_LOGS_EXPORTER, …).
func ObservedConfigEnv(fakeURL, sinkURL string, env map[string]string) string {
	cfg := TypicalConfig(fakeURL, "")
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "  %s: %q\n", k, env[k])
	}
	return cfg + fmt.Sprintf(`litellm_settings:
  callbacks: ["prometheus", "otel", "generic_api"]
environment_variables:
  OTEL_EXPORTER_OTLP_ENDPOINT: %[1]s
  OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf
  GENERIC_LOGGER_ENDPOINT: %[1]s/log
`, sinkURL) + b.String()
}

// ScaleConfig is a config of n deployments on the fake provider, ten to a
// model group, for the control-plane scale figures.
func ScaleConfig(fakeURL string, n int) string { return ScaleConfigMoved(fakeURL, n, -1) }

// ScaleConfigHosts is a config of n deployments each on its own host (a
// fleet of self-hosted servers): loopback addresses 127.1.x.y on the fake
// provider's port, plain http — above xds.ManyHostsMin one Envoy cluster of
// them all in module mode (D86; a cluster each under D62, and still for
// host names or https, as with a fleet of Azure resources). Nothing is sent
// to them; the push is measured.
func ScaleConfigHosts(fakeURL string, n int) string {
	port := fakeURL[strings.LastIndexByte(fakeURL, ':')+1:]
	var b strings.Builder
	b.Grow(n * 160)
	b.WriteString("model_list:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - model_name: group-%d\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: http://127.1.%d.%d:%s/v1\n      api_key: sk-%d\n", i/10, i/250, 1+i%250, port, i)
	}
	b.WriteString("router_settings:\n  routing_strategy: simple-shuffle\n")
	fmt.Fprintf(&b, "general_settings:\n  master_key: %s\n", MasterKey)
	return b.String()
}

// ScaleConfigMoved is ScaleConfig with deployment number moved on a new
// api_base (a config change of one deployment; -1: none).
func ScaleConfigMoved(fakeURL string, n, moved int) string {
	var b strings.Builder
	b.Grow(n * 160)
	b.WriteString("model_list:\n")
	for i := 0; i < n; i++ {
		suffix := ""
		if i == moved {
			suffix = "-moved"
		}
		fmt.Fprintf(&b, "  - model_name: group-%d\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: %s/d%d%s/v1\n      api_key: sk-%d\n", i/10, fakeURL, i, suffix, i)
	}
	b.WriteString("router_settings:\n  routing_strategy: simple-shuffle\n")
	fmt.Fprintf(&b, "general_settings:\n  master_key: %s\n", MasterKey)
	return b.String()
}

// ChatBody is the request every target gets: a short, realistic chat
// completion request.
func ChatBody(model string, stream bool) []byte {
	s := ""
	if stream {
		s = `,"stream":true`
	}
	return []byte(`{"model":"` + model + `","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly."},{"role":"user","content":"Summarise the benefits of running an LLM gateway on Envoy in one paragraph."}],"temperature":0.2,"max_tokens":256` + s + `}`)
}
