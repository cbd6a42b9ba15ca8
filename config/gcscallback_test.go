package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestGCSBucketEnv (D170): the gcs_bucket callback's environment as
// LiteLLM's GCSBucketLogger reads it, its defaults, the bucket's folder,
// and the warnings that leave it off.
func TestGCSBucketEnv(t *testing.T) {
	yml := "model_list: []\nlitellm_settings:\n  callbacks: [gcs_bucket]\n"
	cfg := mustParse(t, yml, env("GCS_BUCKET_NAME", "logs/a/b/", "GCS_PATH_SERVICE_ACCOUNT", "/sa.json"))
	want := GCSBucketEnv{Bucket: "logs", Prefix: "a/b", ServiceAccount: "/sa.json", Endpoint: DefaultGCSEndpoint, Batched: true,
		BatchSize: 1000, FlushInterval: 20 * time.Second}
	if g := cfg.LiteLLM.Logging.GCS; g == nil || *g != want {
		t.Fatalf("gcs %+v, want %+v", g, want)
	}
	if all := fmt.Sprint(cfg.Warnings); strings.Contains(all, "gcs_bucket") {
		t.Errorf("warnings %s", all)
	}
	cfg = mustParse(t, yml, env("GCS_BUCKET_NAME", "logs", "GOOGLE_APPLICATION_CREDENTIALS", "/adc.json", "GCS_USE_BATCHED_LOGGING", "False",
		"GCS_BATCH_SIZE", "7", "GCS_FLUSH_INTERVAL", "2", "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", "http://127.0.0.1:9/storage/v1/"))
	want = GCSBucketEnv{Bucket: "logs", ServiceAccount: "/adc.json", Endpoint: "http://127.0.0.1:9", BatchSize: 7, FlushInterval: 2 * time.Second}
	if g := cfg.LiteLLM.Logging.GCS; g == nil || *g != want {
		t.Fatalf("gcs %+v, want %+v", g, want)
	}
	for _, c := range []struct {
		env  []string
		warn string
		off  bool
	}{
		{nil, "GCS_BUCKET_NAME is not set", true},
		{[]string{"GCS_BUCKET_NAME", "gs://logs"}, "is not a bucket name", true},
		{[]string{"GCS_BUCKET_NAME", "logs/../x"}, "is not a bucket name", true},
		{[]string{"GCS_BUCKET_NAME", "logs"}, "neither GCS_PATH_SERVICE_ACCOUNT", true},
		{[]string{"GCS_BUCKET_NAME", "logs", "GCS_PATH_SERVICE_ACCOUNT", "x", "GCS_FLUSH_INTERVAL", "0.5"}, "GCS_FLUSH_INTERVAL \"0.5\"", false},
		{[]string{"GCS_BUCKET_NAME", "logs", "GCS_PATH_SERVICE_ACCOUNT", "x", "GCS_BATCH_SIZE", "-1"}, "GCS_BATCH_SIZE \"-1\"", false},
	} {
		cfg := mustParse(t, yml, env(c.env...))
		if all := fmt.Sprint(cfg.Warnings); !strings.Contains(all, c.warn) || (cfg.LiteLLM.Logging.GCS == nil) != c.off {
			t.Errorf("%v: gcs %+v, warnings %s; want %q", c.env, cfg.LiteLLM.Logging.GCS, all, c.warn)
		}
	}
	if cfg := mustParse(t, "model_list: []\n", env("GCS_BUCKET_NAME", "logs", "GCS_PATH_SERVICE_ACCOUNT", "x")); cfg.LiteLLM.Logging.GCS != nil {
		t.Error("read without gcs_bucket in a callback list")
	}
}
