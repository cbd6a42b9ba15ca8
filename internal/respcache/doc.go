// Package respcache is LiteLLM's response cache (litellm_settings.cache: true
// with cache_params; docs/architecture.md D111): which requests are cached
// (mode default_on / default_off, supported_call_types, the body's "cache"
// controls no-cache, no-store, ttl, s-maxage, namespace, use-cache), the
// cache key as LiteLLM builds it (the model group and the request's LLM
// parameters, hashed with sha256, prefixed by the namespace), and where the
// answers are kept: in memory (type local: LiteLLM's bounded in-memory cache)
// or in Redis (type redis: shared by every gateway instance on it), and the
// other stores of D138 and D182: s3, disk, gcs, qdrant-semantic.
//
// The ext_proc request filter asks it for a request's decision and looks the
// key up (a hit is answered without calling a provider); the attempt filter
// stores a successful answer through Put, which writes off the request path.
//
// It may import the standard library, config, gjson, go-redis, the AWS SDK's
// S3 client, golang.org/x/oauth2 and internal/backendauth (gcs's token). It must
// never import Envoy, ext_proc, router or store code: it knows nothing of
// plans or tries, only of request bodies and answers.
package respcache
