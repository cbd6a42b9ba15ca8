package config

import (
	"fmt"
	"strings"
	"testing"
)

// OTEL_TRACES_SAMPLER / _ARG and the OTLP logs exporter as the OTel SDK
// environment specification reads them (D58): the default sampler is
// parentbased_always_on; an unknown sampler or a bad argument is a warning
// and ignored; logs go out only when asked for (OTEL_LOGS_EXPORTER=otlp or
// a logs endpoint), to OTEL_EXPORTER_OTLP_LOGS_ENDPOINT as written, else
// the base endpoint's /v1/logs over HTTP.
func TestOTelSamplerAndLogsEnv(t *testing.T) {
	yml := "model_list: []\nlitellm_settings:\n  callbacks: [\"otel\"]\n"
	for _, c := range []struct {
		env                   map[string]string
		sampler               string
		ratio                 float64
		logs, logsProto, warn string
	}{
		{map[string]string{}, SamplerParentAlwaysOn, 1, "", "", ""},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}, SamplerTraceIDRatio, 0.25, "", "", ""},
		{map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio"}, SamplerParentTraceIDRatio, 1, "", "", ""},
		{map[string]string{"OTEL_TRACES_SAMPLER": "always_off", "OTEL_TRACES_SAMPLER_ARG": "x"}, SamplerAlwaysOff, 1, "", "", ""},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, SamplerTraceIDRatio, 1, "", "", "OTEL_TRACES_SAMPLER_ARG"},
		{map[string]string{"OTEL_TRACES_SAMPLER": "jaeger_remote"}, SamplerParentAlwaysOn, 1, "", "", "OTEL_TRACES_SAMPLER"},
		{map[string]string{"OTEL_LOGS_EXPORTER": "otlp"}, SamplerParentAlwaysOn, 1, "http://localhost:4318/v1/logs", "http/protobuf", ""},
		{map[string]string{"OTEL_LOGS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}, SamplerParentAlwaysOn, 1, "http://c:4318/v1/logs", "http/protobuf", ""},
		{map[string]string{"OTEL_LOGS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, SamplerParentAlwaysOn, 1, "http://c:4317", "grpc", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://l:9/x", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, SamplerParentAlwaysOn, 1, "http://l:9/x", "http/protobuf", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://l:9", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "grpc"}, SamplerParentAlwaysOn, 1, "http://l:9", "grpc", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://l:9/x", "OTEL_LOGS_EXPORTER": "none"}, SamplerParentAlwaysOn, 1, "", "", ""},
		{map[string]string{"OTEL_LOGS_EXPORTER": "console"}, SamplerParentAlwaysOn, 1, "", "", "OTEL_LOGS_EXPORTER"},
	} {
		env := func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
		cfg := mustParse(t, yml, env)
		lg := cfg.LiteLLM.Logging
		if lg.OTelSampler != c.sampler || lg.OTelSamplerRatio != c.ratio || lg.OTelLogsEndpoint != c.logs || lg.OTelLogsProtocol != c.logsProto {
			t.Errorf("%v: sampler %q %v, logs %q %q; want %q %v, %q %q", c.env, lg.OTelSampler, lg.OTelSamplerRatio, lg.OTelLogsEndpoint, lg.OTelLogsProtocol,
				c.sampler, c.ratio, c.logs, c.logsProto)
		}
		all := fmt.Sprint(cfg.Warnings)
		warned := strings.Contains(all, c.warn+":")
		if c.warn != "" && !warned || c.warn == "" && strings.Contains(all, "OTEL_") {
			t.Errorf("%v: warnings %v, want one on %q", c.env, cfg.Warnings, c.warn)
		}
	}
}

// A default_team_settings team may name generic_api (D58): its flags are
// set and GENERIC_LOGGER_ENDPOINT is read although the global lists do not
// name the callback; other names still warn "not yet".
func TestDefaultTeamSettingsGenericAPI(t *testing.T) {
	yml := "model_list: []\nlitellm_settings:\n  default_team_settings:\n" +
		"    - team_id: team-1\n      success_callback: [generic_api]\n      failure_callback: [generic_api, datadog]\n" +
		"    - team_id: team-2\n      failure_callback: [generic_api]\n"
	cfg := mustParse(t, yml, func(k string) (string, bool) {
		if k == "GENERIC_LOGGER_ENDPOINT" {
			return "http://hook/log", true
		}
		return "", false
	})
	tc := cfg.LiteLLM.TeamCallbacks
	if len(tc) != 2 || !tc[0].GenericSuccess || !tc[0].GenericFailure || tc[1].GenericSuccess || !tc[1].GenericFailure || tc[0].Success || tc[0].Failure {
		t.Fatalf("team callbacks %+v", tc)
	}
	if cfg.LiteLLM.Logging.GenericEndpoint != "http://hook/log" {
		t.Errorf("generic endpoint %q", cfg.LiteLLM.Logging.GenericEndpoint)
	}
	if all := fmt.Sprint(cfg.Warnings); !strings.Contains(all, `team callback "datadog": accepted, not implemented yet`) || strings.Contains(all, `"generic_api"`) ||
		strings.Contains(all, "langfuse_public_key") {
		t.Errorf("warnings %v", cfg.Warnings)
	}
}
