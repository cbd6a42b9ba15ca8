package config

import (
	"strconv"
	"strings"
)

// Trace samplers of OTEL_TRACES_SAMPLER (the OTel SDK environment
// specification) that the otel callback honours.
const (
	SamplerAlwaysOn           = "always_on"
	SamplerAlwaysOff          = "always_off"
	SamplerTraceIDRatio       = "traceidratio"
	SamplerParentAlwaysOn     = "parentbased_always_on"
	SamplerParentAlwaysOff    = "parentbased_always_off"
	SamplerParentTraceIDRatio = "parentbased_traceidratio"
)

// otelSampler reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG as the
// OTel SDK does: default parentbased_always_on; the ratio samplers' argument
// a probability in [0, 1], default 1. An unknown sampler or an invalid
// argument is a warning and is ignored (the specification: behave as if
// the variable were not set).
func (p *parser) otelSampler(lg *LoggingSettings, get func(string) string) {
	lg.OTelSampler, lg.OTelSamplerRatio = SamplerParentAlwaysOn, 1
	switch v := strings.ToLower(get("OTEL_TRACES_SAMPLER")); v {
	case "":
	case SamplerAlwaysOn, SamplerAlwaysOff, SamplerTraceIDRatio, SamplerParentAlwaysOn, SamplerParentAlwaysOff, SamplerParentTraceIDRatio:
		lg.OTelSampler = v
	default:
		p.add(SeverityWarning, 0, 0, "OTEL_TRACES_SAMPLER", "sampler %q is not supported (always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio); using parentbased_always_on", v)
	}
	if lg.OTelSampler != SamplerTraceIDRatio && lg.OTelSampler != SamplerParentTraceIDRatio {
		return
	}
	if arg := get("OTEL_TRACES_SAMPLER_ARG"); arg != "" {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 || r != r {
			p.add(SeverityWarning, 0, 0, "OTEL_TRACES_SAMPLER_ARG", "%q is not a probability in [0, 1]; using 1", arg)
			return
		}
		lg.OTelSamplerRatio = r
	}
}

// otelLogs reads the OTLP logs exporter: on with OTEL_LOGS_EXPORTER=otlp, or
// with OTEL_EXPORTER_OTLP_LOGS_ENDPOINT set and OTEL_LOGS_EXPORTER not
// "none". The SDK specification's default exporter is otlp; LiteLLM's otel
// callback exports no logs unless asked, so neither does llmgate.
func (p *parser) otelLogs(lg *LoggingSettings, get func(string) string, first func(...string) string) {
	ep := get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
	on := ep != ""
	for _, e := range strings.Split(strings.ToLower(get("OTEL_LOGS_EXPORTER")), ",") {
		switch e = strings.TrimSpace(e); e {
		case "":
		case "otlp":
			on = true
		case "none":
			on = false
		default:
			p.add(SeverityWarning, 0, 0, "OTEL_LOGS_EXPORTER", "logs exporter %q is not supported (otlp, none)", e)
		}
		if e == "none" {
			break
		}
	}
	if !on {
		return
	}
	proto := first("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")
	switch proto {
	case "":
		proto = lg.OTelProtocol
	case "grpc", "http/protobuf":
	default:
		p.add(SeverityWarning, 0, 0, "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "protocol %q is not supported (grpc, http/protobuf); using %s", proto, lg.OTelProtocol)
		proto = lg.OTelProtocol
	}
	lg.OTelLogsProtocol = proto
	base := first("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_ENDPOINT")
	switch {
	case ep != "":
	case base == "" && proto == "grpc":
		ep = "http://localhost:4317"
	case base == "":
		ep = "http://localhost:4318/v1/logs"
	case proto == "grpc":
		ep = base
	default:
		ep = strings.TrimRight(base, "/") + "/v1/logs"
	}
	lg.OTelLogsEndpoint = ep
	lg.OTelLogsHeaders = parseHeaderList(first("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_HEADERS"))
}
