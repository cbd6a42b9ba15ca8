package callbacks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/llmgate/llmgate/internal/outcome"
)

// S3 is the s3 callback's name (LiteLLM's "s3" and "s3_v2": one object per
// request in a bucket).
const S3 = "s3"

// S3Settings are litellm_settings.s3_callback_params, as the config read
// them (os.environ/ references resolved, AWS_* fallbacks applied).
type S3Settings struct {
	Events
	Bucket   string
	Region   string
	Endpoint string // s3_endpoint_url; "" is AWS's own endpoint for Region
	// AccessKeyID, SecretAccessKey and SessionToken sign the requests
	// (static credentials).
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// RoleName and SessionName assume a role over STS (AssumeRole with the
	// static credentials, the profile's or the SDK's default chain as the
	// source; with WebIdentityToken, AssumeRoleWithWebIdentity), at
	// STSEndpoint ("" is AWS's). ProfileName takes a profile of the shared
	// AWS config files. Precedence as LiteLLM's get_credentials: web
	// identity (token, role and session name), role, profile, static.
	RoleName, SessionName, WebIdentityToken, STSEndpoint, ProfileName string
	// Path is s3_path: the objects' key prefix.
	Path string
	// KeyPrefix is s3_use_key_prefix: the key's alias is a folder under
	// Path.
	KeyPrefix bool
	// TeamPrefix is s3_use_team_prefix: the key's team's alias is a folder
	// under Path (before the key's alias), as LiteLLM's S3Logger takes it
	// from the payload's user_api_key_team_alias; none without an alias.
	TeamPrefix bool
	// VirtualHosted is s3_use_virtual_hosted_style: the bucket is in the
	// host name even with an endpoint URL (path style otherwise, as LiteLLM
	// builds the URL of a custom endpoint).
	VirtualHosted bool
	// InsecureSkipVerify is s3_verify: false.
	InsecureSkipVerify bool
	// SSE and SSEKMSKeyID are s3_server_side_encryption and
	// s3_sse_kms_key_id (aws:kms when only the key id is set).
	SSE         string
	SSEKMSKeyID string
	// BatchSize and FlushInterval are DEFAULT_S3_BATCH_SIZE and
	// DEFAULT_S3_FLUSH_INTERVAL_SECONDS (LiteLLM's 512 and 10 s).
	BatchSize     int
	FlushInterval time.Duration
}

// s3Parallel bounds the puts in flight per batch (S3 has no batch put:
// LiteLLM starts a task per object).
const s3Parallel = 8

// maxS3KeyBytes is S3's limit on an object key.
const maxS3KeyBytes = 1024

// s3Client is the SDK client of one S3Settings.
type s3Client = sdkClient[S3Settings, *s3.Client]

// newS3Client builds the S3 client of st over hc.
func newS3Client(st *S3Settings, hc *http.Client) *s3.Client {
	opts := s3.Options{
		Region:      st.Region,
		Credentials: s3Credentials(st, hc),
		HTTPClient:  hc,
		// The sender retries with back-off and counts; the SDK does not.
		Retryer:      aws.NopRetryer{},
		UsePathStyle: st.Endpoint != "" && !st.VirtualHosted,
		// S3-compatible stores (MinIO, Ceph, R2, gofakes3) do not all take
		// the SDK's default trailing checksums; PutObject needs none.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if st.Endpoint != "" {
		opts.BaseEndpoint = aws.String(st.Endpoint)
	}
	return s3.New(opts)
}

// S3ObjectKey is the key LiteLLM's s3 logger writes a request's payload
// under: [s3_path/][key alias/]YYYY-MM-DD/time-HH-MM-SS-ffffff_<id>.json,
// dated by the request's start (UTC). A key over S3's 1,024 bytes keeps
// s3_path and replaces the alias folder and the file name by digests.
func S3ObjectKey(path, keyAlias string, start time.Time, id string) string {
	var folders []string
	if keyAlias != "" {
		folders = []string{keyAlias}
	}
	return s3ObjectKey(path, folders, start, id)
}

// s3ObjectKey is S3ObjectKey with its folders under s3_path (LiteLLM's
// prefix components: the team's alias with s3_use_team_prefix, then the
// key's alias with s3_use_key_prefix); each folder becomes a digest when
// the key is too long.
func s3ObjectKey(path string, folders []string, start time.Time, id string) string {
	start = start.UTC()
	prefix := ""
	if path != "" {
		prefix = strings.TrimRight(path, "/") + "/"
	}
	folder := ""
	for _, f := range folders {
		folder += f + "/"
	}
	date := start.Format("2006-01-02") + "/"
	name := strings.ReplaceAll(s3FileName(start, id), "/", "_")
	key := prefix + folder + date + name + ".json"
	if len(key) <= maxS3KeyBytes {
		return key
	}
	digest := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	folder = ""
	for _, f := range folders {
		folder += digest(f)[:16] + "/"
	}
	if len(name) > 128 {
		name = name[:63] + "_" + digest(name)
	}
	key = prefix + folder + date + name + ".json"
	if len(key) > maxS3KeyBytes { // s3_path itself is bounded by the config
		key = digest(prefix)[:16] + "/" + folder + date + name + ".json"
	}
	return key
}

// s3FileName is LiteLLM's logging id: time-HH-MM-SS-microseconds_<id>.
func s3FileName(start time.Time, id string) string {
	return fmt.Sprintf("time-%02d-%02d-%02d-%06d_%s", start.Hour(), start.Minute(), start.Second(), start.Nanosecond()/1000, id)
}

// s3DownloadName is the object's Content-Disposition file name.
func s3DownloadName(start time.Time, id string) string {
	start = start.UTC()
	id = strings.NewReplacer("/", "_", `"`, "_").Replace(id)
	if len(id) > 200 {
		id = id[:200]
	}
	return fmt.Sprintf("time-%s-%06d_%s.json", start.Format("2006-01-02T15-04-05"), start.Nanosecond()/1000, id)
}

// s3Size sizes the s3 objects (one event each; the SDK's, never released).
var s3Size sizeHint

// postS3 puts one object per event of the batch (S3 has no batch write),
// s3Parallel at a time. A batch that failed in part is put again whole by
// the sender: the keys are the same, so a retry overwrites an object with
// the same bytes.
func (m *Manager) postS3(ctx context.Context, batch []outcome.Try) error {
	s := m.settings.Load()
	st := s.S3
	if st == nil || st.Bucket == "" {
		return nil
	}
	cli := m.s3.get(*st, m.client, st.InsecureSkipVerify, func(hc *http.Client) *s3.Client { return newS3Client(st, hc) })
	sem := make(chan struct{}, s3Parallel)
	errs := make([]error, len(batch))
	var wg sync.WaitGroup
	for i := range batch {
		t := &batch[i]
		body := appendStandard(s3Size.buf(1, 1280), t, s)
		start := t.Start
		if start.IsZero() {
			start = t.End
		}
		var folders []string
		if st.TeamPrefix && !s.RedactKeyInfo && s.TeamAlias != nil && t.TeamID != "" {
			if a := s.TeamAlias(t.TeamID); a != "" {
				folders = append(folders, a)
			}
		}
		if st.KeyPrefix && !s.RedactKeyInfo && t.KeyAlias != "" {
			folders = append(folders, t.KeyAlias)
		}
		in := s3PutInput(st, s3ObjectKey(st.Path, folders, start, t.CallID), body, s3DownloadName(start, t.CallID))
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			_, err := cli.PutObject(ctx, in)
			errs[i] = s3Error(err)
		}(i)
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &s3BatchError{errs: failed, total: len(batch)}
}

// s3BatchError is a batch's failed puts: worth a retry when any is
// (retryable reads Unwrap).
type s3BatchError struct {
	errs  []error
	total int
}

func (e *s3BatchError) Error() string {
	return fmt.Sprintf("%d of %d objects not written: %v", len(e.errs), e.total, e.errs[0])
}

func (e *s3BatchError) Unwrap() []error { return e.errs }

// s3Error gives an S3 error answer the status the sender's retry policy
// reads (408, 429 and 5xx are tried again; a 403 is not); a network error
// stays as it is (tried again).
func s3Error(err error) error {
	var re *smithyhttp.ResponseError
	if err != nil && errors.As(err, &re) && re.HTTPStatusCode() > 0 {
		return &statusError{status: re.HTTPStatusCode(), body: re.Error()}
	}
	return err
}
