package gateway

import (
	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/callbacks"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/keystore"
)

// ensureAuditLogs applies store_audit_logs and audit_log_callbacks (D79) at
// start and on each reload: the keys service writes a LiteLLM_AuditLog row
// for each management change and hands it to the s3 audit callback when
// one is configured (its own sender, whatever the logging callbacks are).
func (g *Gateway) ensureAuditLogs(cfg *config.Config) {
	if g.keys == nil {
		return
	}
	al := &cfg.LiteLLM.AuditLogs
	var st *callbacks.S3Settings
	if sp := al.S3; al.Store && sp != nil && sp.Bucket != "" {
		st = &callbacks.S3Settings{Bucket: sp.Bucket, Region: sp.Region, Endpoint: sp.Endpoint, AccessKeyID: sp.AccessKeyID,
			SecretAccessKey: sp.SecretAccessKey, SessionToken: sp.SessionToken, RoleName: sp.RoleName, SessionName: sp.SessionName,
			WebIdentityToken: sp.WebIdentityToken, STSEndpoint: sp.STSEndpoint, ProfileName: sp.ProfileName, Path: sp.Path,
			VirtualHosted: sp.VirtualHosted, InsecureSkipVerify: sp.InsecureSkipVerify, SSE: sp.SSE, SSEKMSKeyID: sp.SSEKMSKeyID,
			BatchSize: sp.BatchSize, FlushInterval: sp.FlushInterval}
	}
	if st != nil && g.auditCB == nil {
		g.auditCB = callbacks.New(g.log)
	}
	var sink keys.AuditSink
	if g.auditCB != nil {
		g.auditCB.ConfigureAudit(st)
		cb := g.auditCB
		sink = func(l keystore.AuditLog) {
			cb.Audit(callbacks.AuditLog{ID: l.ID, UpdatedAt: l.UpdatedAt, ChangedBy: l.ChangedBy, ChangedByAPIKey: l.ChangedByAPIKey,
				Action: l.Action, TableName: l.TableName, ObjectID: l.ObjectID, BeforeValue: l.BeforeValue, UpdatedValues: l.UpdatedValues})
		}
	}
	g.keys.SetAuditLog(al.Store, sink)
}

// closeAuditLogs delivers the audit rows the s3 audit callback holds (after
// the keys service has written its last rows).
func (g *Gateway) closeAuditLogs() {
	if g.auditCB != nil {
		g.auditCB.Close()
	}
}
