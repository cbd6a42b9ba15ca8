package config

import (
	"fmt"
	"strings"
	"testing"
)

// store_audit_logs, audit_log_callbacks and s3_audit_callback_params as
// LiteLLM reads them (D79): LITELLM_STORE_AUDIT_LOGS when the key is unset
// (the config wins), s3_audit_callback_params else s3_callback_params for
// the s3_v2 audit callback, other callbacks warned.
func TestAuditLogSettings(t *testing.T) {
	base := "model_list: []\nlitellm_settings:\n"
	cfg := mustParse(t, base+`  store_audit_logs: true
  audit_log_callbacks: [s3_v2, datadog]
  s3_callback_params: {s3_bucket_name: logs, s3_aws_access_key_id: A, s3_aws_secret_access_key: S, s3_path: llm}
  s3_audit_callback_params: {s3_bucket_name: audit, s3_aws_access_key_id: A2, s3_aws_secret_access_key: S2, s3_path: litellm-audit, s3_region_name: us-east-1}
`, env())
	al := cfg.LiteLLM.AuditLogs
	if !al.Store || al.S3 == nil || al.S3.Bucket != "audit" || al.S3.Path != "litellm-audit" || al.S3.AccessKeyID != "A2" || al.S3.Region != "us-east-1" || al.S3.BatchSize != DefaultS3BatchSize {
		t.Fatalf("audit settings %+v (s3 %+v)", al, al.S3)
	}
	if cfg.LiteLLM.Logging.S3.Bucket != "logs" {
		t.Errorf("s3_callback_params changed: %+v", cfg.LiteLLM.Logging.S3)
	}
	if w := fmt.Sprint(cfg.Warnings); !strings.Contains(w, `"datadog"`) || strings.Contains(w, "store_audit_logs") && strings.Contains(w, "unknown") {
		t.Errorf("warnings %s", w)
	}
	// Without s3_audit_callback_params: s3_callback_params.
	cfg = mustParse(t, base+"  store_audit_logs: true\n  audit_log_callbacks: [s3]\n  s3_callback_params: {s3_bucket_name: logs, s3_path: llm}\n", env("AWS_ACCESS_KEY_ID", "K", "AWS_SECRET_ACCESS_KEY", "S"))
	if s3 := cfg.LiteLLM.AuditLogs.S3; s3 == nil || s3.Bucket != "logs" || s3.Path != "llm" || s3.AccessKeyID != "K" {
		t.Fatalf("audit s3 from s3_callback_params: %+v", s3)
	}
	// The environment when the key is unset; the config wins over it.
	if cfg := mustParse(t, base+"  drop_params: true\n", env(EnvStoreAuditLogs, "true")); !cfg.LiteLLM.AuditLogs.Store {
		t.Error("LITELLM_STORE_AUDIT_LOGS=true not read")
	}
	if cfg := mustParse(t, base+"  store_audit_logs: false\n", env(EnvStoreAuditLogs, "true")); cfg.LiteLLM.AuditLogs.Store {
		t.Error("store_audit_logs: false lost to the environment")
	}
	// Callbacks without store_audit_logs: a warning, nothing sent.
	cfg = mustParse(t, base+"  audit_log_callbacks: [s3_v2]\n  s3_callback_params: {s3_bucket_name: logs, s3_aws_access_key_id: A, s3_aws_secret_access_key: S}\n", env())
	if cfg.LiteLLM.AuditLogs.S3 != nil || !strings.Contains(fmt.Sprint(cfg.Warnings), "store_audit_logs") {
		t.Errorf("callbacks without store_audit_logs: %+v, warnings %v", cfg.LiteLLM.AuditLogs, cfg.Warnings)
	}
}
