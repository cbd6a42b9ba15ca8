package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// litellm_settings.s3_callback_params as LiteLLM reads it: os.environ/
// references, the AWS_* environment for what is not set, the s3 and s3_v2
// names, DEFAULT_S3_* batching; a team's lists may name s3.
func TestS3CallbackParams(t *testing.T) {
	yml := `model_list: []
litellm_settings:
  callbacks: [s3_v2]
  s3_callback_params:
    s3_bucket_name: logs
    s3_endpoint_url: http://127.0.0.1:9000/
    s3_aws_access_key_id: os.environ/MY_KEY
    s3_aws_secret_access_key: os.environ/MY_SECRET
    s3_path: llm/
    s3_use_key_prefix: true
    s3_verify: false
    s3_sse_kms_key_id: kms-1
    s3_use_team_prefix: true
    s3_aws_role_name: r
    s3_aws_sts_endpoint: https://sts.eu-west-1.amazonaws.com/
  default_team_settings:
    - team_id: team-1
      success_callback: [s3]
`
	cfg := mustParse(t, yml, env("MY_KEY", "AKID", "MY_SECRET", "zq9secret", "AWS_REGION_NAME", "eu-west-1", "DEFAULT_S3_FLUSH_INTERVAL_SECONDS", "0.5", "DEFAULT_S3_BATCH_SIZE", "3",
		"AWS_SESSION_NAME", "sess-env"))
	sp := cfg.LiteLLM.Logging.S3
	want := S3CallbackParams{Bucket: "logs", Region: "eu-west-1", Endpoint: "http://127.0.0.1:9000", AccessKeyID: "AKID", SecretAccessKey: "zq9secret",
		RoleName: "r", SessionName: "sess-env", STSEndpoint: "https://sts.eu-west-1.amazonaws.com",
		Path: "llm/", KeyPrefix: true, TeamPrefix: true, InsecureSkipVerify: true, SSE: "aws:kms", SSEKMSKeyID: "kms-1", BatchSize: 3, FlushInterval: 500 * time.Millisecond}
	if sp == nil || *sp != want {
		t.Fatalf("s3 params %+v, want %+v", sp, want)
	}
	if s, f := cfg.LiteLLM.S3Callback(); !s || !f {
		t.Errorf("s3_v2 in callbacks: events %v %v", s, f)
	}
	if tc := cfg.LiteLLM.TeamCallbacks; len(tc) != 1 || !tc[0].S3Success || tc[0].S3Failure {
		t.Errorf("team callbacks %+v", tc)
	}
	all := fmt.Sprint(cfg.Warnings)
	if strings.Contains(all, "s3_use_team_prefix") {
		t.Errorf("s3_use_team_prefix warned (D74 reads it): %s", all)
	}
	if strings.Contains(all, "s3_aws_role_name") {
		t.Errorf("s3_aws_role_name warned (D69 reads it): %s", all)
	}
	if strings.Contains(all, `callback "s3`) || strings.Contains(all, "zq9secret") {
		t.Errorf("warnings %s", all)
	}

	// Credentials and region from the environment; no bucket, or no
	// credentials: a warning, nothing sent.
	yml = "model_list: []\nlitellm_settings:\n  success_callback: [s3]\n  s3_callback_params: {s3_bucket_name: b}\n"
	cfg = mustParse(t, yml, env("AWS_ACCESS_KEY_ID", "A", "AWS_SECRET_ACCESS_KEY", "S", "AWS_SESSION_TOKEN", "T"))
	if sp := cfg.LiteLLM.Logging.S3; sp.Region != DefaultS3Region || sp.AccessKeyID != "A" || sp.SecretAccessKey != "S" || sp.SessionToken != "T" ||
		sp.BatchSize != 512 || sp.FlushInterval != 10*time.Second {
		t.Errorf("defaults %+v", sp)
	}
	cfg = mustParse(t, yml, nil)
	if sp := cfg.LiteLLM.Logging.S3; sp.Bucket != "" || !strings.Contains(fmt.Sprint(cfg.Warnings), "no credentials") {
		t.Errorf("without credentials: %+v, warnings %v", sp, cfg.Warnings)
	}
	// A role, a profile or a web identity from the environment are
	// credentials (LiteLLM's get_credentials falls back to AWS_*).
	for _, e := range [][]string{{"AWS_ROLE_NAME", "arn:aws:iam::1:role/r"}, {"AWS_PROFILE_NAME", "logs"}} {
		cfg = mustParse(t, yml, env(e...))
		if sp := cfg.LiteLLM.Logging.S3; sp.Bucket != "b" || sp.RoleName+sp.ProfileName != e[1] || strings.Contains(fmt.Sprint(cfg.Warnings), "no credentials") {
			t.Errorf("%s: %+v, warnings %v", e[0], sp, cfg.Warnings)
		}
	}
	cfg = mustParse(t, "model_list: []\nlitellm_settings:\n  callbacks: [s3]\n", nil)
	if !strings.Contains(fmt.Sprint(cfg.Warnings), "s3_bucket_name is not set") {
		t.Errorf("without a bucket: warnings %v", cfg.Warnings)
	}
	parseErr(t, "model_list: []\nlitellm_settings:\n  s3_callback_params: {s3_endpoint_url: 'ftp://x'}\n", nil)
	parseErr(t, "model_list: []\nlitellm_settings:\n  s3_callback_params: {s3_path: '"+strings.Repeat("p", 600)+"'}\n", nil)
}

// A team's lists may name otel (D64): the OTEL_* variables are read for it
// although the global lists do not name otel, and nothing warns.
func TestDefaultTeamSettingsOTel(t *testing.T) {
	yml := "model_list: []\nlitellm_settings:\n  default_team_settings:\n    - team_id: team-1\n      success_callback: [otel]\n"
	cfg := mustParse(t, yml, env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"))
	if tc := cfg.LiteLLM.TeamCallbacks; len(tc) != 1 || !tc[0].OTel {
		t.Fatalf("team callbacks %+v", tc)
	}
	if ep := cfg.LiteLLM.Logging.OTelEndpoint; ep != "http://collector:4318/v1/traces" {
		t.Errorf("otel endpoint %q", ep)
	}
	if all := fmt.Sprint(cfg.Warnings); strings.Contains(all, "otel") {
		t.Errorf("warnings %s", all)
	}
}

// TestS3V1Prefixes (D170): LiteLLM's v1 "s3" logger (integrations/s3.py)
// writes a team folder only with enable_preview_features, never a key
// folder, and logs successes only; s3_v2 (also named) keeps both folders
// and failures.
func TestS3V1Prefixes(t *testing.T) {
	params := "  s3_callback_params: {s3_bucket_name: b, s3_use_team_prefix: true, s3_use_key_prefix: true}\n"
	creds := env("AWS_ACCESS_KEY_ID", "A", "AWS_SECRET_ACCESS_KEY", "S")
	for _, c := range []struct {
		name, lists       string
		key, team         bool
		success, failure  bool
		warnKey, warnTeam bool
	}{
		{"v1", "  callbacks: [s3]\n", false, false, true, false, true, true},
		{"v1 preview", "  callbacks: [s3]\n  enable_preview_features: true\n", false, true, true, false, true, false},
		{"v1 success list", "  success_callback: [s3]\n  enable_preview_features: false\n", false, false, true, false, true, true},
		{"v2", "  callbacks: [s3_v2]\n", true, true, true, true, false, false},
		{"v1 and v2", "  callbacks: [s3, s3_v2]\n", true, true, true, true, false, false},
	} {
		cfg := mustParse(t, "model_list: []\nlitellm_settings:\n"+c.lists+params, creds)
		sp := cfg.LiteLLM.Logging.S3
		s, f := cfg.LiteLLM.S3Callback()
		all := fmt.Sprint(cfg.Warnings)
		if sp.KeyPrefix != c.key || sp.TeamPrefix != c.team || s != c.success || f != c.failure ||
			strings.Contains(all, "s3_use_key_prefix") != c.warnKey || strings.Contains(all, "enable_preview_features") != c.warnTeam {
			t.Errorf("%s: key %v team %v events %v/%v, want %v %v %v/%v; warnings %s", c.name, sp.KeyPrefix, sp.TeamPrefix, s, f,
				c.key, c.team, c.success, c.failure, all)
		}
	}
	cfg := mustParse(t, "model_list: []\nlitellm_settings:\n  failure_callback: [s3]\n"+params, creds)
	if s, f := cfg.LiteLLM.S3Callback(); s || f || !strings.Contains(fmt.Sprint(cfg.Warnings), "logs successes only") {
		t.Errorf("failure_callback: [s3]: events %v/%v, warnings %v", s, f, cfg.Warnings)
	}
}
