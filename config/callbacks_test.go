package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPrometheusCallback(t *testing.T) {
	base := "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o}\nlitellm_settings:\n"
	for _, c := range []struct {
		name, settings string
		prom, authOff  bool
		buckets        []float64
		warn           string
	}{
		{name: "none", settings: "  drop_params: true\n"},
		{name: "callbacks", settings: "  callbacks: [prometheus]\n", prom: true},
		{name: "success_callback", settings: "  success_callback: [\"prometheus\"]\n", prom: true},
		{name: "single name", settings: "  callbacks: prometheus\n", prom: true},
		{name: "other callbacks warn", settings: "  callbacks: [helicone, prometheus]\n", prom: true, warn: `callback "helicone": accepted, not implemented yet`},
		{name: "auth off", settings: "  callbacks: [prometheus]\n  require_auth_for_metrics_endpoint: false\n", prom: true, authOff: true},
		{name: "auth on", settings: "  callbacks: [prometheus]\n  require_auth_for_metrics_endpoint: true\n", prom: true},
		{name: "buckets", settings: "  prometheus_latency_buckets: [0.1, 1, 10, .inf]\n", buckets: []float64{0.1, 1, 10}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := mustParse(t, base+c.settings, nil)
			ls := &cfg.LiteLLM
			if ls.Prometheus() != c.prom || ls.MetricsAuthOff != c.authOff || !slices.Equal(ls.PrometheusLatencyBuckets, c.buckets) {
				t.Errorf("prometheus %v auth off %v buckets %v", ls.Prometheus(), ls.MetricsAuthOff, ls.PrometheusLatencyBuckets)
			}
			found := c.warn == ""
			for _, w := range cfg.Warnings {
				if c.warn != "" && strings.Contains(w.Message, c.warn) {
					found = true
				}
			}
			if !found {
				t.Errorf("no warning %q in %v", c.warn, cfg.Warnings)
			}
		})
	}
	for _, bad := range []string{"  prometheus_latency_buckets: [1, 0.5]\n", "  prometheus_latency_buckets: [-1]\n", "  prometheus_latency_buckets: []\n"} {
		parseErr(t, base+bad, nil)
	}
}

// The logging callbacks read LiteLLM's environment variables (and
// environment_variables); success_callback, failure_callback and callbacks
// choose the events; a callback without its variables warns.
func TestLoggingCallbackSettings(t *testing.T) {
	yml := "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o}\n" +
		"environment_variables: {LANGFUSE_HOST: 'http://lf:3000/'}\n" +
		"litellm_settings:\n  success_callback: [generic_api]\n  failure_callback: [langfuse]\n" +
		"  turn_off_message_logging: true\n  redact_user_api_key_info: true\n"
	cfg := mustParse(t, yml, env("GENERIC_LOGGER_ENDPOINT", "http://hook/log", "GENERIC_LOGGER_HEADERS", "Authorization=Bearer a=b, X-Team = t ,junk",
		"LANGFUSE_PUBLIC_KEY", "pk", "LANGFUSE_SECRET_KEY", "sk", "DEFAULT_FLUSH_INTERVAL_SECONDS", "0.5", "DEFAULT_BATCH_SIZE", "7"))
	ls := &cfg.LiteLLM
	lg := ls.Logging
	if s, f := ls.CallbackEvents("generic_api"); !s || f {
		t.Errorf("generic_api events %v %v, want success only", s, f)
	}
	if s, f := ls.CallbackEvents("langfuse"); s || !f {
		t.Errorf("langfuse events %v %v, want failure only", s, f)
	}
	if lg.GenericEndpoint != "http://hook/log" || lg.GenericHeaders["Authorization"] != "Bearer a=b" || lg.GenericHeaders["X-Team"] != "t" || len(lg.GenericHeaders) != 2 {
		t.Errorf("generic %q %v", lg.GenericEndpoint, lg.GenericHeaders)
	}
	if lg.LangfuseHost != "http://lf:3000" || lg.LangfusePublicKey != "pk" || lg.LangfuseSecretKey != "sk" {
		t.Errorf("langfuse %q %q %q", lg.LangfuseHost, lg.LangfusePublicKey, lg.LangfuseSecretKey)
	}
	if !lg.TurnOffMessageLogging || !lg.RedactUserAPIKeyInfo || lg.BatchSize != 7 || lg.FlushInterval != 500*time.Millisecond {
		t.Errorf("logging %+v", lg)
	}
	for _, w := range cfg.Warnings {
		if strings.Contains(w.Message, "callback") {
			t.Errorf("unexpected warning %v", w)
		}
	}

	cfg = mustParse(t, "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o}\nlitellm_settings:\n  callbacks: [generic_api, langfuse]\n", env())
	var n int
	for _, w := range cfg.Warnings {
		if strings.Contains(w.Message, "no events are sent") {
			n++
		}
	}
	if n != 2 || cfg.LiteLLM.Logging.LangfuseHost != "https://cloud.langfuse.com" || cfg.LiteLLM.Logging.BatchSize != 512 {
		t.Errorf("without the variables: %d warnings, host %q: %v", n, cfg.LiteLLM.Logging.LangfuseHost, cfg.Warnings)
	}
}

// callback_settings: generic_api instances by name (callback_type,
// endpoint, headers, event_types, log_format), named in the callback lists
// without a "not implemented" warning; otel.message_logging accepted; a
// bad log_format, a missing endpoint or a built-in's name is an error.
func TestCallbackSettingsNamedGenericAPI(t *testing.T) {
	yml := "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o}\n" +
		"litellm_settings:\n  callbacks: [audit, otel]\n  failure_callback: [errors]\n" +
		"callback_settings:\n" +
		"  audit:\n    callback_type: generic_api\n    endpoint: https://audit.example/logs\n    headers: {Authorization: os.environ/AUDIT_TOKEN}\n    log_format: ndjson\n" +
		"  errors:\n    callback_type: generic_api\n    endpoint: http://errors.example\n    event_types: [llm_api_failure]\n" +
		"  otel:\n    message_logging: false\n"
	cfg := mustParse(t, yml, env("AUDIT_TOKEN", "Bearer t"))
	named := cfg.LiteLLM.Logging.Named
	if len(named) != 2 || named[0].Name != "audit" || named[0].Endpoint != "https://audit.example/logs" || named[0].Headers["Authorization"] != "Bearer t" ||
		named[0].Format != "ndjson" || !named[0].Success || !named[0].Failure ||
		named[1].Name != "errors" || named[1].Format != "json_array" || named[1].Success || !named[1].Failure {
		t.Fatalf("named callbacks %+v", named)
	}
	for _, w := range cfg.Warnings {
		if strings.Contains(w.Message, "not implemented") {
			t.Errorf("warning %v", w)
		}
	}
	for _, bad := range []string{
		"  x:\n    callback_type: generic_api\n    endpoint: http://x\n    log_format: csv\n",
		"  x:\n    callback_type: generic_api\n",
		"  langfuse:\n    callback_type: generic_api\n    endpoint: http://x\n",
	} {
		base := "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o}\ncallback_settings:\n"
		parseErr(t, base+bad, env()) // fails the test when accepted
	}
}

// default_team_settings: a team's Langfuse project and which events it
// gets; the host defaults to LANGFUSE_HOST; other team callbacks warn.
func TestDefaultTeamSettings(t *testing.T) {
	yml := "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o}\n" +
		"litellm_settings:\n  default_team_settings:\n" +
		"    - team_id: team-1\n      success_callback: [langfuse]\n      langfuse_public_key: os.environ/LF1_PUB\n      langfuse_secret: os.environ/LF1_SEC\n" +
		"    - team_id: team-2\n      failure_callback: [langfuse, datadog]\n      langfuse_public_key: pk2\n      langfuse_secret: sk2\n      langfuse_host: http://lf2/\n"
	cfg := mustParse(t, yml, env("LF1_PUB", "pk1", "LF1_SEC", "sk1", "LANGFUSE_HOST", "http://lf:3000"))
	tc := cfg.LiteLLM.TeamCallbacks
	if len(tc) != 2 || tc[0].TeamID != "team-1" || !tc[0].Success || tc[0].Failure || tc[0].LangfusePublicKey != "pk1" || tc[0].LangfuseSecret != "sk1" ||
		tc[0].LangfuseHost != "http://lf:3000" || tc[1].Success || !tc[1].Failure || tc[1].LangfuseHost != "http://lf2" {
		t.Fatalf("team callbacks %+v", tc)
	}
	if !hasDiag(cfg.Warnings, `team callback "datadog": accepted, not implemented yet`) {
		t.Errorf("warnings %v", cfg.Warnings)
	}
}
