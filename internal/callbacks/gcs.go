package callbacks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/llmgate/llmgate/internal/backendauth"
	"github.com/llmgate/llmgate/internal/outcome"
)

// GCSBucket is LiteLLM's "gcs_bucket" callback: the StandardLoggingPayloads
// as objects of a Google Cloud Storage bucket, uploaded with the JSON API's
// media upload and a service account's OAuth access token.
const GCSBucket = "gcs_bucket"

// GCSSettings are the gcs_bucket callback's environment as the config read
// it.
type GCSSettings struct {
	Events
	// Bucket is GCS_BUCKET_NAME's bucket; Prefix its folder ("" for none:
	// "bucket/a/b" writes under a/b/).
	Bucket, Prefix string
	// ServiceAccount is GCS_PATH_SERVICE_ACCOUNT, else
	// GOOGLE_APPLICATION_CREDENTIALS: a path to a service account's JSON
	// key, or the JSON itself (secret).
	ServiceAccount string
	// Endpoint is the JSON API's root (https://storage.googleapis.com).
	Endpoint string
	// Batched is GCS_USE_BATCHED_LOGGING (LiteLLM's default true): a
	// batch is one NDJSON object; false: one object per request.
	Batched bool
	// BatchSize and FlushInterval are GCS_BATCH_SIZE and
	// GCS_FLUSH_INTERVAL.
	BatchSize     int
	FlushInterval time.Duration
}

// gcsAuth holds the token source of the service account last configured
// (built again when a reload changes it).
type gcsAuth struct {
	mu  sync.Mutex
	key string
	v   *backendauth.Vertex
	err error
}

// token is the "Bearer …" authorization of sa's service account: a cached
// access token, or a fresh one from its token_uri (over hc).
func (a *gcsAuth) token(sa string, hc *http.Client) (string, error) {
	a.mu.Lock()
	if a.v == nil && a.err == nil || a.key != sa {
		a.key, a.v, a.err = sa, nil, nil
		var js backendauth.Secret
		if js, a.err = backendauth.LoadVertexCredentials(sa); a.err == nil {
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
			a.v, a.err = backendauth.NewVertex(ctx, js)
		}
		if a.err != nil {
			// The messages name the file, never the key.
			a.err = permanentError{errors.New(strings.Replace(a.err.Error(), "vertex credentials", "gcs_bucket credentials", 1))}
		}
	}
	v, err := a.v, a.err
	a.mu.Unlock()
	if err != nil {
		return "", err
	}
	h, err := v.Headers(backendauth.Request{})
	if err != nil {
		return "", err
	}
	return h["authorization"], nil
}

// permanentError is a failure a retry would meet again (the sender gives
// the batch up at once).
type permanentError struct{ error }

// gcsSize sizes the NDJSON objects.
var gcsSize sizeHint

// postGCS uploads a batch: one NDJSON object (LiteLLM's batched logging),
// or one object per event. Object names are derived from the batch, so a
// batch the sender posts again overwrites what an earlier attempt wrote.
func (m *Manager) postGCS(ctx context.Context, batch []outcome.Try) error {
	s := m.settings.Load()
	st := s.GCS
	if st == nil || st.Bucket == "" || len(batch) == 0 {
		return nil
	}
	bearer, err := m.gcs.token(st.ServiceAccount, m.client)
	if err != nil {
		return err
	}
	if st.Batched {
		body := gcsSize.buf(len(batch), 1280)
		for i := range batch {
			if i > 0 {
				body = append(body, '\n')
			}
			body = appendStandard(body, &batch[i], s)
		}
		gcsSize.observe(body, len(batch))
		done, err := gcsUpload(ctx, m.client, st, GCSBatchObjectName(gcsBatchTime(batch), batch[0].CallID), body, bearer)
		if done {
			gcsSize.release(body)
		}
		return err
	}
	var failed []error
	for i := range batch {
		t := &batch[i]
		body := appendStandard(make([]byte, 0, 1280), t, s)
		if _, err := gcsUpload(ctx, m.client, st, GCSObjectName(t.End, t.CallID, t.Failed()), body, bearer); err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &s3BatchError{errs: failed, total: len(batch)}
}

// gcsBatchTime dates a batch's object: its first event's end (a retry of
// the batch names the same object).
func gcsBatchTime(batch []outcome.Try) time.Time {
	if t := batch[0].End; !t.IsZero() {
		return t
	}
	return time.Now()
}

// GCSBatchObjectName is LiteLLM's name of a batch's NDJSON object:
// YYYY-MM-DD/batch-<unix ms>-<8 hex>.ndjson (UTC); the hex digits derive
// from the batch's first call id where LiteLLM draws them at random.
func GCSBatchObjectName(at time.Time, firstCallID string) string {
	at = at.UTC()
	return at.Format("2006-01-02") + "/batch-" + strconv.FormatInt(at.UnixMilli(), 10) + "-" + gcsHex(firstCallID)[:8] + ".ndjson"
}

// GCSObjectName is LiteLLM's name of one request's object without batched
// logging: YYYY-MM-DD/<id> for a success, YYYY-MM-DD/failure-<32 hex> for
// a failure (the hex from the call id, where LiteLLM draws a uuid4).
func GCSObjectName(at time.Time, callID string, failed bool) string {
	day := at.UTC().Format("2006-01-02") + "/"
	if failed {
		return day + "failure-" + gcsHex(callID)[:32]
	}
	return day + callID
}

func gcsHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// gcsUpload writes one object with the JSON API's simple upload, as
// LiteLLM's _log_json_data_on_gcs: POST
// <endpoint>/upload/storage/v1/b/<bucket>/o?uploadType=media&name=<name>,
// the name under the bucket's folder and escaped whole (a "/" as %2F).
func gcsUpload(ctx context.Context, hc *http.Client, st *GCSSettings, name string, body []byte, bearer string) (bool, error) {
	if st.Prefix != "" {
		name = st.Prefix + "/" + name
	}
	u := st.Endpoint + "/upload/storage/v1/b/" + url.PathEscape(st.Bucket) + "/o?uploadType=media&name=" +
		strings.ReplaceAll(url.QueryEscape(name), "+", "%20")
	return postReleased(ctx, hc, u, "application/json", body, map[string]string{"Authorization": bearer})
}
