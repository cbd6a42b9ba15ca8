package config

import (
	"strconv"

	"gopkg.in/yaml.v3"
)

// EnvStoreAuditLogs is LITELLM_STORE_AUDIT_LOGS: store_audit_logs when the
// config leaves it unset (LiteLLM's is_audit_logging_enabled).
const EnvStoreAuditLogs = "LITELLM_STORE_AUDIT_LOGS"

// AuditLogSettings are the audit log's keys of litellm_settings (D79).
type AuditLogSettings struct {
	// Store is store_audit_logs (else LITELLM_STORE_AUDIT_LOGS): every
	// management change leaves a LiteLLM_AuditLog row.
	Store bool
	set   bool // store_audit_logs given in the config
	// S3 is where the audit_log_callbacks' "s3"/"s3_v2" writes each row:
	// s3_audit_callback_params, else s3_callback_params (nil: no s3 audit
	// callback).
	S3 *S3CallbackParams
	// callbacks are audit_log_callbacks; s3Params s3_audit_callback_params.
	callbacks []string
	s3Params  *S3CallbackParams
}

// auditLogKey reads store_audit_logs, audit_log_callbacks and
// s3_audit_callback_params.
func (p *parser) auditLogKey(ls *LiteLLMSettings, name string, v *yaml.Node, key string) {
	al := &ls.AuditLogs
	switch name {
	case "store_audit_logs":
		al.Store, al.set = p.bool(v, key)
	case "audit_log_callbacks":
		list, _ := p.strList(v, key)
		for _, c := range list {
			if c == "s3" || c == "s3_v2" {
				al.callbacks = append(al.callbacks, c)
			} else {
				p.warnAt(v, key, "audit log callback %q: not yet implemented (only s3_v2); ignored", c)
			}
		}
	case "s3_audit_callback_params":
		al.s3Params = p.s3Params(v, key)
	}
}

// auditLogEnv completes the audit log's settings once every key is read:
// LITELLM_STORE_AUDIT_LOGS when store_audit_logs is unset, and the s3
// audit callback's parameters (the environment's AWS_* fallbacks applied).
func (p *parser) auditLogEnv(ls *LiteLLMSettings, get func(string) string) {
	al := &ls.AuditLogs
	if !al.set {
		if b, err := strconv.ParseBool(get(EnvStoreAuditLogs)); err == nil {
			al.Store = b
		}
	}
	if len(al.callbacks) == 0 {
		return
	}
	if !al.Store {
		p.add(SeverityWarning, 0, 0, "litellm_settings.audit_log_callbacks", "audit_log_callbacks send nothing without store_audit_logs: true")
		return
	}
	switch {
	case al.s3Params != nil:
		sp := *al.s3Params
		p.s3Complete(&sp, get, "litellm_settings.s3_audit_callback_params", "audit log callback \"s3_v2\"")
		al.S3 = &sp
	case ls.Logging.S3 != nil:
		sp := *ls.Logging.S3 // completed by s3Env
		al.S3 = &sp
	default:
		p.add(SeverityWarning, 0, 0, "litellm_settings.audit_log_callbacks", "audit log callback \"s3_v2\": neither s3_audit_callback_params nor s3_callback_params is set; no audit logs are sent")
	}
}
