package config

import (
	"net/url"
	"strings"
)

// The response cache's other stores (D138): cache_params' s3_* keys (type
// s3), disk_cache_dir (type disk), the gcs_* keys (type gcs, D182) and the
// qdrant keys (type qdrant-semantic); router_settings.cache_responses.

const (
	// DefaultDiskCacheDir is LiteLLM's DiskCache directory when
	// disk_cache_dir is unset (relative to the working directory).
	DefaultDiskCacheDir = ".litellm_cache"
	// DefaultQdrantEmbeddingModel and DefaultQdrantVectorSize are LiteLLM's
	// qdrant-semantic defaults (Cache's embedding model, QDRANT_VECTOR_SIZE).
	DefaultQdrantEmbeddingModel = "text-embedding-ada-002"
	DefaultQdrantVectorSize     = 1536
	maxQdrantVectorSize         = 65536
	cacheParamsKey              = "litellm_settings.cache_params"
)

// QdrantQuantizations are qdrant_quantization_config's values.
var QdrantQuantizations = []string{"binary", "scalar", "product"}

// cacheStoreKey reads one cache_params key of the s3, disk, gcs and qdrant
// stores (the key is registered: checkKey passed it).
func (p *parser) cacheStoreKey(cp *CacheParams, e entry, key string) {
	v := e.Value
	if isNull(v) {
		return // an unset os.environ/ reads as unset
	}
	s3 := &cp.S3
	q := &cp.Qdrant
	switch e.Key {
	case "s3_bucket_name":
		s3.Bucket, _ = p.str(v, key)
	case "s3_region_name":
		s3.Region, _ = p.str(v, key)
	case "s3_endpoint_url":
		if s, ok := p.str(v, key); ok && s != "" {
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.errAt(v, key, "must be an http(s) URL")
			} else {
				s3.Endpoint = strings.TrimRight(s, "/")
			}
		}
	case "s3_aws_access_key_id":
		s3.AccessKeyID, _ = p.str(v, key)
	case "s3_aws_secret_access_key":
		s3.SecretAccessKey, _ = p.str(v, key)
	case "s3_aws_session_token":
		s3.SessionToken, _ = p.str(v, key)
	case "s3_path":
		if s, ok := p.str(v, key); ok {
			if len(s) > maxS3PathBytes {
				p.errAt(v, key, "must be at most %d bytes (S3 keys are at most 1,024)", maxS3PathBytes)
			} else {
				s3.Path = s
			}
		}
	case "s3_verify":
		if b, ok := p.bool(v, key); ok {
			s3.InsecureSkipVerify = !b
		}
	case "s3_use_ssl":
		if b, ok := p.bool(v, key); ok {
			cp.S3NoSSL = !b
		}
	case "s3_api_version", "redis_flush_size":
		// S3 has one API version; writes go one by one off the request
		// path: read, nothing to change.
		_ = p.anyValue(v, key)
	case "default_in_memory_ttl":
		cp.DefaultInMemoryTTL, _ = p.seconds(v, key)
	case "default_in_redis_ttl":
		cp.DefaultInRedisTTL, _ = p.seconds(v, key)
	case "disk_cache_dir":
		cp.DiskDir, _ = p.str(v, key)
	case "gcs_bucket_name":
		if s, ok := p.str(v, key); ok && s != "" {
			if !validGCSBucket(s) {
				p.errAt(v, key, "must be a Cloud Storage bucket name (3-222 characters: lower-case letters, digits, -, _ and .), got %q", s)
			} else {
				cp.GCS.Bucket = s
			}
		}
	case "gcs_path_service_account":
		cp.GCS.ServiceAccount, _ = p.str(v, key)
	case "gcs_path":
		if s, ok := p.str(v, key); ok {
			if len(s) > maxS3PathBytes {
				p.errAt(v, key, "must be at most %d bytes (object names are at most 1,024)", maxS3PathBytes)
			} else if s = strings.TrimRight(s, "/"); s != "" {
				cp.GCS.Path = s + "/" // LiteLLM's key_prefix
			}
		}
	case "qdrant_api_base":
		if s, ok := p.str(v, key); ok && s != "" {
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.errAt(v, key, "must be an http(s) URL")
			} else {
				q.APIBase = strings.TrimRight(s, "/")
			}
		}
	case "qdrant_api_key":
		q.APIKey, _ = p.str(v, key)
	case "qdrant_collection_name":
		q.Collection, _ = p.str(v, key)
	case "qdrant_quantization_config":
		if s, ok := p.str(v, key); ok {
			switch s {
			case "binary", "scalar", "product":
				q.Quantization = s
			default:
				p.errAt(v, key, "must be one of %s, got %q", strings.Join(QdrantQuantizations, ", "), s)
			}
		}
	case "similarity_threshold":
		if f, ok := p.float(v, key); ok {
			if f < -1 || f > 1 {
				p.errAt(v, key, "must be a cosine similarity in [-1, 1], got %g", f)
			} else {
				q.Threshold = f
			}
		}
	case "qdrant_semantic_cache_embedding_model":
		q.EmbeddingModel, _ = p.str(v, key)
	case "qdrant_semantic_cache_vector_size":
		if n, ok := p.nonNegInt(v, key); ok {
			if n == 0 || n > maxQdrantVectorSize {
				p.errAt(v, key, "must be in 1..%d, got %d", maxQdrantVectorSize, n)
			} else {
				q.VectorSize = int(n)
			}
		}
	}
}

// cacheStoreDefaults fills the stores' defaults and variables and reports
// what LiteLLM's constructors refuse (a bucket, a collection, a threshold).
func (p *parser) cacheStoreDefaults(cp *CacheParams, es []entry) {
	get := func(name string) string { v, _ := p.lookup(name); return v }
	threshold := false
	for _, e := range es {
		if e.Key != "cache_params" {
			continue
		}
		if ces, ok := p.quietMapping(e.Value); ok {
			for _, ce := range ces {
				threshold = threshold || (ce.Key == "similarity_threshold" && !isNull(ce.Value))
			}
		}
	}
	// LiteLLM's Cache: default_in_memory_ttl replaces ttl for local,
	// default_in_redis_ttl for redis.
	if cp.Type == "local" && cp.DefaultInMemoryTTL > 0 {
		cp.TTL = cp.DefaultInMemoryTTL
	}
	if cp.Type == "redis" && cp.DefaultInRedisTTL > 0 {
		cp.TTL = cp.DefaultInRedisTTL
	}
	switch cp.Type {
	case "s3":
		s3 := &cp.S3
		if s3.Bucket == "" {
			p.add(SeverityError, 0, 0, cacheParamsKey, "type s3 needs s3_bucket_name")
		}
		// boto3's client: its arguments, else the AWS_* variables.
		if s3.AccessKeyID == "" && s3.SecretAccessKey == "" {
			s3.AccessKeyID, s3.SecretAccessKey = get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")
			if s3.SessionToken == "" {
				s3.SessionToken = get("AWS_SESSION_TOKEN")
			}
		}
		if s3.Region == "" {
			s3.Region = firstNonEmpty(get("AWS_REGION_NAME"), get("AWS_REGION"), get("AWS_DEFAULT_REGION"), DefaultS3Region)
		}
		if cp.S3NoSSL && s3.Endpoint == "" {
			// boto3's use_ssl=False: AWS's endpoint over http (an endpoint
			// URL is taken as written).
			s3.Endpoint = "http://s3." + s3.Region + ".amazonaws.com"
		}
	case "gcs":
		g := &cp.GCS
		// LiteLLM's GCSCache: its arguments, else GCSBucketBase's
		// variables; the token as the Vertex provider's.
		if g.Bucket == "" {
			if b := get("GCS_BUCKET_NAME"); validGCSBucket(b) {
				g.Bucket = b
			} else if b != "" {
				p.add(SeverityError, 0, 0, cacheParamsKey, "type gcs: GCS_BUCKET_NAME %q is not a Cloud Storage bucket name", b)
			}
		}
		if g.ServiceAccount == "" {
			g.ServiceAccount = firstNonEmpty(get("GCS_PATH_SERVICE_ACCOUNT"), get("GOOGLE_APPLICATION_CREDENTIALS"))
		}
		g.Endpoint = DefaultGCSEndpoint
		if v := get("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE"); v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
				p.add(SeverityError, 0, 0, cacheParamsKey, "type gcs: CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE %q is not an http(s) URL", v)
			} else {
				g.Endpoint = strings.TrimSuffix(strings.TrimRight(v, "/"), "/storage/v1")
			}
		}
		if g.Bucket == "" {
			p.add(SeverityError, 0, 0, cacheParamsKey, "type gcs needs gcs_bucket_name (or GCS_BUCKET_NAME)")
		}
		if g.ServiceAccount == "" {
			p.add(SeverityError, 0, 0, cacheParamsKey, "type gcs needs gcs_path_service_account (or GCS_PATH_SERVICE_ACCOUNT / GOOGLE_APPLICATION_CREDENTIALS): Google's other default credentials (gcloud's, the metadata server) are not yet read")
		}
	case "disk":
		if cp.DiskDir == "" {
			cp.DiskDir = DefaultDiskCacheDir
		}
	case "qdrant-semantic":
		q := &cp.Qdrant
		if q.APIBase == "" {
			q.APIBase = strings.TrimRight(firstNonEmpty(get("QDRANT_URL"), get("QDRANT_API_BASE")), "/")
		}
		if q.APIKey == "" {
			q.APIKey = get("QDRANT_API_KEY")
		}
		if q.APIBase == "" {
			p.add(SeverityError, 0, 0, cacheParamsKey, "type qdrant-semantic needs qdrant_api_base (or QDRANT_URL / QDRANT_API_BASE)")
		}
		if q.Collection == "" {
			p.add(SeverityError, 0, 0, cacheParamsKey, "type qdrant-semantic needs qdrant_collection_name")
		}
		if !threshold {
			p.add(SeverityError, 0, 0, cacheParamsKey, "type qdrant-semantic needs similarity_threshold")
		}
		if q.Quantization == "" {
			q.Quantization = "binary"
		}
		if q.EmbeddingModel == "" {
			q.EmbeddingModel = DefaultQdrantEmbeddingModel
		}
		if q.VectorSize == 0 {
			q.VectorSize = DefaultQdrantVectorSize
		}
	}
}

// cacheResponses is router_settings.cache_responses: LiteLLM's Router makes
// the response cache when none is set (litellm_settings.cache wins) — on the
// router's Redis when it has one (redis_url, or redis_host and
// redis_port), else in memory.
func (p *parser) cacheResponses(cfg *Config) {
	ls := &cfg.LiteLLM
	if ls.Cache {
		return
	}
	ls.Cache = true
	r := &cfg.Router
	cp := &ls.CacheParams
	cp.Type = "local"
	if r.RedisURL != "" || (r.RedisHost != "" && r.RedisPort != "") {
		cp.Type = "redis" // respcache.ParamsOf takes the router's Redis
	}
	cp.Mode = "default_on"
	cp.SupportedCallTypes = append([]string(nil), DefaultCacheCallTypes...)
}

// validGCSBucket reports a Cloud Storage bucket name: 3 to 222 characters
// of lower-case letters, digits, "-", "_" and ".", starting and ending with
// a letter or digit (a name with dots has components of at most 63).
func validGCSBucket(b string) bool {
	if len(b) < 3 || len(b) > 222 {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !alnum(b[0]) || !alnum(b[len(b)-1]) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	for _, part := range strings.Split(b, ".") {
		if len(part) > 63 || part == "" {
			return false
		}
	}
	return strings.Contains(b, ".") || len(b) <= 63
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
