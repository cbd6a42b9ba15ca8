package respcache

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/awscreds"
)

// The s3 cache (LiteLLM's S3Cache): each entry one object at
// [s3_path/]<cache key>, its body the JSON of the entry. LiteLLM writes a
// ttl as the object's Expires and Cache-Control headers but reads the object
// whatever its age; here the expiry is also kept in the body and an expired
// entry is a miss (S3 itself never removes it: a bucket lifecycle rule may).

// s3Timeout bounds one S3 call (the lookup's own bound is the caller's).
const s3Timeout = 2 * time.Second

// maxS3Entry bounds an object read back (a larger one is not an entry of
// ours).
const maxS3Entry = 64 << 20

// s3NoTTL is LiteLLM's Cache-Control max-age of an entry without a ttl.
const s3NoTTL = 31536000

type s3Backend struct {
	cli    *s3.Client
	bucket string
	prefix string
}

// fileStored is an entry as the s3 and disk stores keep it: Redis' stored
// value with its key and its expiry (unix seconds; 0: none).
type fileStored struct {
	stored
	Key     string  `json:"key,omitempty"`
	Expires float64 `json:"expires,omitempty"`
}

func encodeFileStored(key string, e Entry, ttl time.Duration) ([]byte, error) {
	fs := fileStored{stored: stored{Timestamp: unixSeconds(e.Stored), Response: string(e.Body), Stream: e.Stream}, Key: key}
	if ttl > 0 {
		fs.Expires = unixSeconds(e.Stored.Add(ttl))
	}
	return json.Marshal(fs)
}

// decodeFileStored reads an entry; false when it is not one of ours or it
// expired by now.
func decodeFileStored(b []byte, now time.Time) (Entry, bool) {
	var fs fileStored
	if json.Unmarshal(b, &fs) != nil || fs.Response == "" {
		return Entry{}, false
	}
	if fs.Expires > 0 && unixSeconds(now) >= fs.Expires {
		return Entry{}, false
	}
	sec, frac := math.Modf(fs.Timestamp)
	return Entry{Stream: fs.Stream, Body: []byte(fs.Response), Stored: time.Unix(int64(sec), int64(frac*1e9))}, true
}

// readFileStored reads an object's body as an entry: a miss when it is
// larger than an entry of ours, not one, or expired.
func readFileStored(r io.Reader) (Entry, bool, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxS3Entry+1))
	if err != nil {
		return Entry{}, false, err
	}
	if len(body) > maxS3Entry {
		return Entry{}, false, nil
	}
	e, ok := decodeFileStored(body, time.Now())
	return e, ok, nil
}

// getEach is getMany of a store read one key at a time (s3, gcs).
func getEach(ctx context.Context, keys []string, get func(context.Context, string) (Entry, bool, error)) ([]Entry, error) {
	out := make([]Entry, len(keys))
	for i, k := range keys {
		e, ok, err := get(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = e
		}
	}
	return out, nil
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func newS3(st config.S3Cache) *s3Backend {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if st.InsecureSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // s3_verify: false, as configured
	}
	hc := &http.Client{Timeout: s3Timeout, Transport: tr}
	var creds aws.CredentialsProvider
	if st.AccessKeyID != "" || st.SecretAccessKey != "" {
		creds = awscreds.Provider(awscreds.Settings{AccessKeyID: st.AccessKeyID, SecretAccessKey: st.SecretAccessKey,
			SessionToken: st.SessionToken, Region: st.Region}, hc)
	} else if cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(st.Region)); err == nil {
		creds = cfg.Credentials // boto3's default chain: the SDK's
	}
	opts := s3.Options{
		Region:       st.Region,
		Credentials:  creds,
		HTTPClient:   hc,
		Retryer:      aws.NopRetryer{}, // a failed lookup is a miss; a failed write is dropped
		UsePathStyle: st.Endpoint != "",
		// S3-compatible stores do not all take the SDK's trailing checksums.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if st.Endpoint != "" {
		opts.BaseEndpoint = aws.String(st.Endpoint)
	}
	prefix := ""
	if st.Path != "" {
		prefix = strings.TrimRight(st.Path, "/") + "/"
	}
	return &s3Backend{cli: s3.New(opts), bucket: st.Bucket, prefix: prefix}
}

func (b *s3Backend) get(ctx context.Context, key string) (Entry, bool, error) {
	out, err := b.cli.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(b.prefix + key)})
	if err != nil {
		var nk *types.NoSuchKey
		if errors.As(err, &nk) {
			return Entry{}, false, nil
		}
		return Entry{}, false, err
	}
	defer out.Body.Close()
	return readFileStored(out.Body)
}

func (b *s3Backend) getMany(ctx context.Context, keys []string) ([]Entry, error) {
	return getEach(ctx, keys, b.get)
}

func (b *s3Backend) set(ctx context.Context, key string, e Entry, ttl time.Duration) error {
	body, err := encodeFileStored(key, e, ttl)
	if err != nil {
		return err
	}
	k := b.prefix + key
	maxAge := s3NoTTL
	in := &s3.PutObjectInput{
		Bucket: &b.bucket, Key: &k, Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ContentType: aws.String("application/json"), ContentLanguage: aws.String("en"),
		ContentDisposition: aws.String(`inline; filename="` + strings.ReplaceAll(k, `"`, "") + `.json"`),
	}
	if ttl > 0 {
		maxAge = int(math.Ceil(ttl.Seconds()))
		in.Expires = aws.Time(e.Stored.Add(ttl))
	}
	in.CacheControl = aws.String("immutable, max-age=" + strconv.Itoa(maxAge) + ", s-maxage=" + strconv.Itoa(maxAge))
	_, err = b.cli.PutObject(ctx, in)
	return err
}

func (b *s3Backend) del(ctx context.Context, keys []string) (int, error) {
	n := 0
	for _, k := range keys {
		if _, err := b.cli.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: aws.String(b.prefix + k)}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// cacheKeyName is an object name the cache writes: a key (sha256 hex,
// after an optional namespace).
var cacheKeyName = regexp.MustCompile(`^([^/]*:)?[0-9a-f]{64}$`)

// flush removes the cache's objects under the prefix (LiteLLM's S3Cache
// removes nothing): only names shaped as cache keys, so other objects of
// the bucket stay.
func (b *s3Backend) flush(ctx context.Context) (int, error) {
	n := 0
	p := s3.NewListObjectsV2Paginator(b.cli, &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: aws.String(b.prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, err
		}
		for _, o := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(o.Key), b.prefix)
			if !cacheKeyName.MatchString(name) {
				continue
			}
			if _, err := b.cli.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: o.Key}); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

func (b *s3Backend) ping(ctx context.Context) error {
	_, err := b.cli.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b.bucket})
	return err
}

func (b *s3Backend) close() error { return nil }
