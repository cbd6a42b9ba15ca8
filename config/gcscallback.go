package config

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The gcs_bucket logging callback (LiteLLM's GCSBucketLogger,
// integrations/gcs_bucket/): its environment and LiteLLM's defaults
// (types/integrations/gcs_bucket.py).
const (
	DefaultGCSBatchSize     = 2048
	DefaultGCSFlushInterval = 20 * time.Second
	// gcsQueueMax is LITELLM_ASYNCIO_QUEUE_MAXSIZE's default: LiteLLM's
	// queue flushes when it holds that many, whatever GCS_BATCH_SIZE.
	gcsQueueMax = 1000
	// DefaultGCSEndpoint is the Cloud Storage JSON API's root.
	DefaultGCSEndpoint = "https://storage.googleapis.com"
)

// GCSBucketEnv is the gcs_bucket callback's environment.
type GCSBucketEnv struct {
	// Bucket and Prefix are GCS_BUCKET_NAME: a bucket, and after its first
	// "/" a folder the objects go under (LiteLLM's
	// split_configured_cloud_bucket_name).
	Bucket, Prefix string
	// ServiceAccount is GCS_PATH_SERVICE_ACCOUNT, else
	// GOOGLE_APPLICATION_CREDENTIALS: a path to a service account's JSON
	// key, or the JSON itself (secret).
	ServiceAccount string
	// Endpoint is DefaultGCSEndpoint, or the root of
	// CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE (gcloud's variable, e.g.
	// https://host/storage/v1/).
	Endpoint string
	// Batched is GCS_USE_BATCHED_LOGGING ("true", the default, or any
	// other value: false).
	Batched bool
	// BatchSize is GCS_BATCH_SIZE (2048), at most 1,000 events an object
	// as LiteLLM's queue flushes at 1,000; FlushInterval GCS_FLUSH_INTERVAL
	// (20 s, whole seconds as LiteLLM's int()).
	BatchSize     int
	FlushInterval time.Duration
}

// gcsEnv reads the gcs_bucket callback's variables when a callback list
// names "gcs_bucket"; it warns, and the callback sends nothing, without a
// usable GCS_BUCKET_NAME or credentials.
func (p *parser) gcsEnv(ls *LiteLLMSettings, get func(string) string) {
	if s, f := ls.CallbackEvents("gcs_bucket"); !s && !f {
		return
	}
	const key = "litellm_settings.callbacks"
	warn := func(format string, args ...any) {
		p.add(SeverityWarning, 0, 0, key, "callback \"gcs_bucket\": "+format, args...)
	}
	g := &GCSBucketEnv{Endpoint: DefaultGCSEndpoint, Batched: true, BatchSize: min(DefaultGCSBatchSize, gcsQueueMax), FlushInterval: DefaultGCSFlushInterval}
	if v := get("GCS_USE_BATCHED_LOGGING"); v != "" {
		g.Batched = strings.ToLower(v) == "true"
	}
	if v := get("GCS_BATCH_SIZE"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n <= 0 {
			warn("GCS_BATCH_SIZE %q is not a positive whole number; using %d", v, DefaultGCSBatchSize)
		} else {
			g.BatchSize = min(n, gcsQueueMax)
		}
	}
	if v := get("GCS_FLUSH_INTERVAL"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n <= 0 {
			warn("GCS_FLUSH_INTERVAL %q is not a positive whole number of seconds; using %d", v, int(DefaultGCSFlushInterval/time.Second))
		} else {
			g.FlushInterval = time.Duration(min(n, 3600)) * time.Second
		}
	}
	if v := get("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE"); v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			warn("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE %q is not an http(s) URL; no events are sent", v)
			return
		}
		g.Endpoint = strings.TrimSuffix(strings.TrimRight(v, "/"), "/storage/v1")
	}
	var ok bool
	switch name := get("GCS_BUCKET_NAME"); {
	case name == "":
		warn("GCS_BUCKET_NAME is not set; no events are sent")
		return
	default:
		if g.Bucket, g.Prefix, ok = splitGCSBucket(name); !ok {
			warn("GCS_BUCKET_NAME %q is not a bucket name with an optional folder (bucket/folder/…); no events are sent", name)
			return
		}
	}
	g.ServiceAccount = get("GCS_PATH_SERVICE_ACCOUNT")
	if g.ServiceAccount == "" {
		g.ServiceAccount = get("GOOGLE_APPLICATION_CREDENTIALS")
	}
	if g.ServiceAccount == "" {
		warn("neither GCS_PATH_SERVICE_ACCOUNT nor GOOGLE_APPLICATION_CREDENTIALS is set (Google's other default credentials — gcloud's, the metadata server — not yet); no events are sent")
		return
	}
	ls.Logging.GCS = g
}

// splitGCSBucket splits GCS_BUCKET_NAME into its bucket and folder as
// LiteLLM's split_configured_cloud_bucket_name does: no scheme, query,
// fragment or control character; the folder's "/" trimmed, none of its
// segments empty, "." or "..".
func splitGCSBucket(v string) (bucket, prefix string, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" || strings.Contains(v, "://") || strings.ContainsAny(v, "?#") {
		return "", "", false
	}
	for _, c := range v {
		if c < 32 || c == 127 {
			return "", "", false
		}
	}
	bucket, prefix, _ = strings.Cut(v, "/")
	prefix = strings.Trim(prefix, "/")
	if bucket == "" || strings.Contains(bucket, "\\") {
		return "", "", false
	}
	if prefix != "" {
		for _, seg := range strings.Split(prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return "", "", false
			}
		}
	}
	return bucket, prefix, true
}
