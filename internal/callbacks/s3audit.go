package callbacks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3Audit names the s3 audit log callback in Stats.
const S3Audit = "s3_audit"

// AuditLog is one management change's audit row as the audit log
// callbacks receive it (LiteLLM's StandardAuditLogPayload).
type AuditLog struct {
	ID              string
	UpdatedAt       time.Time
	ChangedBy       string
	ChangedByAPIKey string
	Action          string
	TableName       string
	ObjectID        string
	// BeforeValue and UpdatedValues are JSON (nil: none).
	BeforeValue, UpdatedValues []byte
}

// auditPayload is the object LiteLLM's S3Logger writes for an audit row:
// the payload's fields in its order, updated_at in Python's isoformat,
// before_value and updated_values as the JSON strings LiteLLM dumps them to.
func auditPayload(l *AuditLog) []byte {
	str := func(b []byte) *string {
		if b == nil {
			return nil
		}
		s := string(b)
		return &s
	}
	v := struct {
		ID              string  `json:"id"`
		UpdatedAt       string  `json:"updated_at"`
		ChangedBy       string  `json:"changed_by"`
		ChangedByAPIKey string  `json:"changed_by_api_key"`
		Action          string  `json:"action"`
		TableName       string  `json:"table_name"`
		ObjectID        string  `json:"object_id"`
		BeforeValue     *string `json:"before_value"`
		UpdatedValues   *string `json:"updated_values"`
	}{l.ID, pyISOFormat(l.UpdatedAt), l.ChangedBy, l.ChangedByAPIKey, l.Action, l.TableName, l.ObjectID, str(l.BeforeValue), str(l.UpdatedValues)}
	b, _ := json.Marshal(v)
	return b
}

// pyISOFormat is Python's datetime.isoformat() of a UTC time.
func pyISOFormat(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05") + "+00:00"
	}
	return t.Format("2006-01-02T15:04:05.000000") + "+00:00"
}

// AuditObjectKey is where LiteLLM's S3Logger writes an audit row:
// [s3_path/]audit_logs/YYYY-MM-DD/HH-MM-SS_<id>.json (UTC).
func AuditObjectKey(path string, at time.Time, id string) string {
	at = at.UTC()
	prefix := ""
	if path != "" {
		prefix = strings.TrimRight(path, "/") + "/"
	}
	return prefix + "audit_logs/" + at.Format("2006-01-02") + "/" + at.Format("15-04-05") + "_" + strings.ReplaceAll(id, "/", "_") + ".json"
}

// auditS3 sends the audit rows to s3 (audit_log_callbacks: ["s3_v2"]) in
// batches, off the management routes, with the logging callbacks' retry.
type auditS3 struct {
	st   atomic.Pointer[S3Settings]
	q    chan AuditLog
	done chan struct{}
	cli  s3Client
	m    *Manager

	mu      sync.RWMutex // held to send on q; Lock to close it
	stopped bool

	sent, dropped, failures atomic.Uint64
}

// ConfigureAudit sets where the audit rows go (nil or no bucket: nowhere);
// at start and on each reload.
func (m *Manager) ConfigureAudit(st *S3Settings) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if st == nil || st.Bucket == "" {
		if m.audit != nil {
			m.audit.st.Store(nil)
		}
		return
	}
	if m.audit == nil {
		m.audit = &auditS3{q: make(chan AuditLog, maxQueue), done: make(chan struct{}), m: m}
		m.audit.st.Store(st)
		go m.audit.run()
	}
	m.audit.st.Store(st)
}

// Audit hands one audit row to the audit log callbacks; it never blocks (a
// full queue drops the row, counted).
func (m *Manager) Audit(l AuditLog) {
	m.mu.Lock()
	a := m.audit
	m.mu.Unlock()
	if a == nil || a.st.Load() == nil {
		return
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.stopped {
		a.dropped.Add(1)
		return
	}
	select {
	case a.q <- l:
	default:
		a.dropped.Add(1)
	}
}

func (a *auditS3) stop() {
	a.mu.Lock()
	if !a.stopped {
		a.stopped = true
		close(a.q)
	}
	a.mu.Unlock()
	<-a.done
}

func (a *auditS3) run() {
	defer close(a.done)
	var batch []AuditLog
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	armed := false
	flush := func() {
		if len(batch) > 0 {
			a.deliver(batch)
			batch = nil
		}
	}
	for {
		select {
		case l, ok := <-a.q:
			if !ok {
				flush()
				return
			}
			batch = append(batch, l)
			st := a.st.Load()
			if st == nil {
				batch = nil
				continue
			}
			if len(batch) >= max(st.BatchSize, 1) {
				flush()
			} else if !armed {
				timer.Reset(max(st.FlushInterval, 10*time.Millisecond))
				armed = true
			}
		case <-timer.C:
			armed = false
			flush()
		}
	}
}

// deliver puts one object per row, retrying the batch as the senders do.
func (a *auditS3) deliver(batch []AuditLog) {
	wait := Backoff
	for i := 0; i < Attempts; i++ {
		if i > 0 {
			time.Sleep(wait)
			wait *= 2
		}
		st := a.st.Load()
		if st == nil {
			a.dropped.Add(uint64(len(batch)))
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), PostTimeout)
		err := a.put(ctx, st, batch)
		cancel()
		if err == nil {
			a.sent.Add(uint64(len(batch)))
			return
		}
		a.failures.Add(1)
		if i == Attempts-1 || !retryable(err) {
			a.dropped.Add(uint64(len(batch)))
			a.m.log.Warn("audit log callback: batch not delivered", "callback", "s3_v2", "events", len(batch), "error", err.Error())
			return
		}
	}
}

func (a *auditS3) put(ctx context.Context, st *S3Settings, batch []AuditLog) error {
	cli := a.cli.get(*st, a.m.client, st.InsecureSkipVerify, func(hc *http.Client) *s3.Client { return newS3Client(st, hc) })
	var failed []error
	for i := range batch {
		l := &batch[i]
		body := auditPayload(l)
		in := s3PutInput(st, AuditObjectKey(st.Path, l.UpdatedAt, l.ID), body, "audit-"+strings.NewReplacer("/", "_", `"`, "_").Replace(l.ID)+".json")
		if _, err := cli.PutObject(ctx, in); err != nil {
			failed = append(failed, s3Error(err))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &s3BatchError{errs: failed, total: len(batch)}
}

// s3PutInput is the PutObject of one JSON object as LiteLLM's S3Logger
// puts it (its headers, the bucket's encryption settings).
func s3PutInput(st *S3Settings, key string, body []byte, downloadName string) *s3.PutObjectInput {
	in := &s3.PutObjectInput{
		Bucket:             aws.String(st.Bucket),
		Key:                aws.String(key),
		Body:               bytes.NewReader(body),
		ContentLength:      aws.Int64(int64(len(body))),
		ContentType:        aws.String("application/json"),
		ContentLanguage:    aws.String("en"),
		ContentDisposition: aws.String(fmt.Sprintf(`inline; filename="%s"`, downloadName)),
		CacheControl:       aws.String("private, immutable, max-age=31536000, s-maxage=0"),
	}
	if st.SSE != "" {
		in.ServerSideEncryption = s3types.ServerSideEncryption(st.SSE)
	}
	if st.SSEKMSKeyID != "" {
		in.SSEKMSKeyId = aws.String(st.SSEKMSKeyID)
	}
	return in
}
