package config

import "strings"

// ArizeEnv is what LiteLLM's ArizeLogger or ArizePhoenixLogger reads from
// the environment: the OTLP exporter's protocol ("grpc" or
// "http/protobuf"), endpoint (the traces URL over HTTP, the target over
// gRPC), headers (secret values) and the resource's project and
// environment.
type ArizeEnv struct {
	Protocol, Endpoint   string
	Headers              map[string]string
	Project, Environment string
}

// arizeEnv reads the arize and arize_phoenix callbacks' variables when a
// callback list names them.
func (p *parser) arizeEnv(ls *LiteLLMSettings, get func(string) string) {
	or := withDefault(get)
	env := or("OTEL_ENVIRONMENT_NAME", "production")
	if s, f := ls.CallbackEvents("arize"); s || f {
		// LiteLLM's get_arize_config: ARIZE_ENDPOINT is a gRPC target,
		// ARIZE_HTTP_ENDPOINT an OTLP/HTTP traces URL; neither: Arize's
		// gRPC endpoint. The space and API key go as the space_id and
		// api_key headers.
		a := &ArizeEnv{Protocol: "grpc", Endpoint: "https://otlp.arize.com/v1", Environment: env,
			Project: or("ARIZE_PROJECT_NAME", or("OTEL_SERVICE_NAME", "litellm"))}
		switch grpcEP, httpEP := get("ARIZE_ENDPOINT"), get("ARIZE_HTTP_ENDPOINT"); {
		case grpcEP != "":
			a.Endpoint = grpcEP
		case httpEP != "":
			a.Protocol, a.Endpoint = "http/protobuf", httpEP
		}
		space := or("ARIZE_SPACE_KEY", get("ARIZE_SPACE_ID"))
		a.Headers = map[string]string{"space_id": space, "api_key": get("ARIZE_API_KEY")}
		if space == "" || get("ARIZE_API_KEY") == "" {
			p.add(SeverityWarning, 0, 0, "litellm_settings.callbacks", "callback \"arize\": ARIZE_SPACE_KEY (or ARIZE_SPACE_ID) and ARIZE_API_KEY should be set; Arize refuses traces without them")
		}
		ls.Logging.Arize = a
	}
	if s, f := ls.CallbackEvents("arize_phoenix"); s || f {
		ls.Logging.Phoenix = p.phoenixEnv(get, env)
	}
}

// phoenixEnv is LiteLLM's get_arize_phoenix_config:
// PHOENIX_COLLECTOR_HTTP_ENDPOINT, else PHOENIX_COLLECTOR_ENDPOINT; a
// grpc:// endpoint or one on port 4317 without /v1/traces is gRPC, another
// gets /v1/traces added unless it holds it (or is Phoenix Cloud's);
// neither: http://localhost:6006/v1/traces. PHOENIX_API_KEY goes as a
// Bearer authorization (required by Phoenix Cloud: nil, with a warning,
// without it).
func (p *parser) phoenixEnv(get func(string) string, env string) *ArizeEnv {
	or := withDefault(get)
	a := &ArizeEnv{Protocol: "http/protobuf", Endpoint: "http://localhost:6006/v1/traces", Environment: env,
		Project: or("PHOENIX_PROJECT_NAME", or("ARIZE_PROJECT_NAME", "default"))}
	ep := or("PHOENIX_COLLECTOR_HTTP_ENDPOINT", get("PHOENIX_COLLECTOR_ENDPOINT"))
	switch {
	case ep == "":
	case strings.HasPrefix(ep, "grpc://") || (strings.Contains(ep, ":4317") && !strings.Contains(ep, "/v1/traces")):
		a.Protocol, a.Endpoint = "grpc", ep
	case strings.Contains(ep, "app.phoenix.arize.com") || strings.Contains(ep, "/v1/traces"):
		a.Endpoint = ep
	case strings.HasSuffix(ep, "/v1"):
		a.Endpoint = ep + "/traces"
	case strings.HasSuffix(ep, "/"):
		a.Endpoint = ep + "v1/traces"
	default:
		a.Endpoint = ep + "/v1/traces"
	}
	a.Headers = map[string]string{}
	switch key := get("PHOENIX_API_KEY"); {
	case key != "" && a.Protocol == "grpc":
		a.Headers["authorization"] = "Bearer " + key
	case key != "":
		a.Headers["Authorization"] = "Bearer " + key
	case strings.Contains(a.Endpoint, "app.phoenix.arize.com"):
		p.add(SeverityWarning, 0, 0, "litellm_settings.callbacks", "callback \"arize_phoenix\": PHOENIX_API_KEY must be set when using Phoenix Cloud (app.phoenix.arize.com); no traces are sent")
		return nil
	}
	return a
}
