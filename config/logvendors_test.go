package config

import (
	"strings"
	"testing"
)

// TestDatadogEnv: the datadog callback's intake URL and fields from
// LiteLLM's variables (agent, direct API, DD_BASE_URL), its defaults, and
// the warning when it cannot send.
func TestDatadogEnv(t *testing.T) {
	const yml = "model_list: []\nlitellm_settings:\n  callbacks: [datadog]\n"
	for _, c := range []struct {
		name string
		env  map[string]string
		url  string // "" when the callback is off
		want DatadogEnv
	}{
		{name: "direct API", env: map[string]string{"DD_API_KEY": "k", "DD_SITE": "us5.datadoghq.com"}, url: "https://http-intake.logs.us5.datadoghq.com/api/v2/logs",
			want: DatadogEnv{APIKey: "k", Source: "litellm", Service: "litellm-server", Env: "unknown", Version: "unknown", PodName: "unknown", BatchSize: 1000}},
		{name: "agent", env: map[string]string{"LITELLM_DD_AGENT_HOST": "dd-agent", "DD_SERVICE": "gw", "DD_ENV": "prod", "HOSTNAME": "h1", "DD_BATCH_SIZE": "5000"},
			url:  "http://dd-agent:10518/api/v2/logs",
			want: DatadogEnv{Source: "litellm", Service: "gw", Hostname: "h1", Env: "prod", Version: "unknown", PodName: "unknown", BatchSize: 1000}},
		{name: "base URL", env: map[string]string{"DD_API_KEY": "k", "DD_SITE": "x", "DD_BASE_URL": "http://127.0.0.1:9/", "DD_BATCH_SIZE": "7", "DD_SOURCE": "s", "DD_VERSION": "1.2", "POD_NAME": "p"},
			url:  "http://127.0.0.1:9/api/v2/logs",
			want: DatadogEnv{APIKey: "k", Source: "s", Service: "litellm-server", Env: "unknown", Version: "1.2", PodName: "p", BatchSize: 7}},
		{name: "no site", env: map[string]string{"DD_API_KEY": "k"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(yml), "t.yaml", func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			d := cfg.LiteLLM.Logging.Datadog
			warned := hasDiag(cfg.Warnings, `callback "datadog": DD_API_KEY and DD_SITE (or LITELLM_DD_AGENT_HOST) must be set`)
			if c.url == "" {
				if d != nil || !warned {
					t.Fatalf("want no datadog callback and a warning; got %+v, warnings %v", d, cfg.Warnings)
				}
				return
			}
			if d == nil || warned {
				t.Fatalf("datadog off: %v", cfg.Warnings)
			}
			c.want.URL = c.url
			if *d != c.want {
				t.Errorf("got %+v\nwant %+v", *d, c.want)
			}
			for _, w := range cfg.Warnings {
				if strings.Contains(w.String(), "datadog") {
					t.Errorf("unexpected warning %v", w)
				}
			}
		})
	}
}

// TestLangSmithEnv: the langsmith callback's variables, LiteLLM's
// defaults, its digits-only sampling rate, and the warning without a key.
func TestLangSmithEnv(t *testing.T) {
	const yml = "model_list: []\nlitellm_settings:\n  success_callback: [langsmith]\n"
	parse := func(env map[string]string) *Config {
		cfg, err := Parse([]byte(yml), "t.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cfg := parse(map[string]string{"LANGSMITH_API_KEY": "k"})
	if l := cfg.LiteLLM.Logging.LangSmith; l == nil || *l != (LangSmithEnv{APIKey: "k", BaseURL: "https://api.smith.langchain.com", Project: "litellm-completion", RunName: "LLMRun"}) {
		t.Errorf("defaults: %+v", l)
	}
	for rate, off := range map[string]bool{"0": true, "1": false, "0.5": false, "00": true} {
		if l := parse(map[string]string{"LANGSMITH_API_KEY": "k", "LANGSMITH_SAMPLING_RATE": rate}).LiteLLM.Logging.LangSmith; l == nil || l.Off != off {
			t.Errorf("LANGSMITH_SAMPLING_RATE=%s: %+v, want off %v", rate, l, off)
		}
	}
	if cfg := parse(nil); cfg.LiteLLM.Logging.LangSmith != nil || !hasDiag(cfg.Warnings, `callback "langsmith": LANGSMITH_API_KEY is not set`) {
		t.Errorf("without a key: %+v %v", cfg.LiteLLM.Logging.LangSmith, cfg.Warnings)
	}
}
