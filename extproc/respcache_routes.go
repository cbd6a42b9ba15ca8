package extproc

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/internal/upstream"
	"github.com/llmgate/llmgate/translator"
)

// LiteLLM's cache routes (proxy/caching_routes.py; D111): GET /cache/ping,
// POST /cache/delete {"keys": [...]}, POST /cache/flushall. LiteLLM deletes
// and flushes only a Redis cache (and its flushall empties the whole Redis);
// here both work on either type, and flushall removes the cache's own
// entries only (the gateway's other state may share the Redis). delete and
// flushall need the master key; ping any key.

const (
	cachePing     = "/cache/ping"
	cacheDelete   = "/cache/delete"
	cacheFlushAll = "/cache/flushall"
)

// isCacheRoute reports whether path is one of the cache routes.
func isCacheRoute(path string) bool {
	switch strings.TrimRight(clientPath(path), "/") {
	case cachePing, cacheDelete, cacheFlushAll:
		return true
	}
	return false
}

// maxCacheDeleteKeys bounds the keys one /cache/delete removes.
const maxCacheDeleteKeys = 1000

// cacheRoute answers a cache route.
func (s *Server) cacheRoute(stream extprocv3.ExternalProcessor_ProcessServer, st *State, h map[string]string, endOfStream bool) error {
	body, ok, err := managementBodyUnless(stream, endOfStream)
	if !ok {
		return err
	}
	path := strings.TrimRight(clientPath(h[":path"]), "/")
	id, e := st.authenticate(h, path == cachePing)
	if e != nil {
		return stream.Send(errorReply(e, nil))
	}
	want := "POST"
	if path == cachePing {
		want = "GET"
	}
	if h[":method"] != want {
		return stream.Send(errorReply(methodNotAllowed(h[":method"]), map[string]string{"allow": want}))
	}
	if path != cachePing && st.hasMaster && !id.master {
		return stream.Send(errorReply(routeForbidden("Only the proxy admin (master key) can call "+path), nil))
	}
	c := st.responseCache()
	if c == nil {
		return stream.Send(errorReply(&translator.Error{Status: 503, Type: "service_unavailable", Code: "503",
			Message: "Cache not initialized. litellm.cache is None"}, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out any
	switch path {
	case cachePing:
		if err := c.Ping(ctx); err != nil {
			return stream.Send(errorReply(&translator.Error{Status: 503, Type: "service_unavailable", Code: "503",
				Message: "Service Unhealthy (" + err.Error() + ")"}, nil))
		}
		p := c.Params()
		params := map[string]any{"type": p.Type, "mode": map[bool]string{true: "default_on", false: "default_off"}[p.DefaultOn],
			"namespace": pyStr(p.Namespace), "ttl": "None", "supported_call_types": strings.Split(p.CallTypes, ",")}
		if p.TTL > 0 {
			params["ttl"] = strconv.FormatFloat(p.TTL.Seconds(), 'f', 1, 64)
		}
		r := map[string]any{"status": "healthy", "cache_type": p.Type, "litellm_cache_params": params}
		if p.Type == "redis" {
			r["ping_response"] = true
			r["set_cache_response"] = "success"
			var rp map[string]any // never a password
			switch {
			case p.Cluster != "":
				rp = map[string]any{"startup_nodes": strings.Split(p.Cluster, ",")}
			case p.Sentinels != "":
				rp = map[string]any{"sentinel_nodes": strings.Split(p.Sentinels, ","), "service_name": p.Service}
			default:
				host, port, _ := strings.Cut(p.Addr, ":")
				rp = map[string]any{"host": host, "port": port}
			}
			r["redis_cache_params"] = rp
		}
		// The other stores' settings, never a credential (D138).
		switch p.Type {
		case "s3":
			r["health_check_cache_params"] = map[string]any{"bucket_name": p.S3.Bucket, "region_name": p.S3.Region,
				"endpoint_url": upstream.Redact(p.S3.Endpoint), "key_prefix": p.S3.Path}
		case "disk":
			r["health_check_cache_params"] = map[string]any{"disk_cache_dir": p.DiskDir}
		case "gcs":
			r["health_check_cache_params"] = map[string]any{"bucket_name": p.GCS.Bucket, "gcs_path": p.GCS.Path,
				"endpoint_url": upstream.Redact(p.GCS.Endpoint)}
		case "qdrant-semantic":
			r["health_check_cache_params"] = map[string]any{"qdrant_api_base": upstream.Redact(p.Qdrant.APIBase),
				"collection_name": p.Qdrant.Collection, "similarity_threshold": p.Qdrant.Threshold,
				"embedding_model": p.Qdrant.EmbeddingModel}
		}
		out = r
	case cacheDelete:
		var req struct {
			Keys []string `json:"keys"`
		}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &req); err != nil {
				return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", "Invalid JSON in request body: "+err.Error(), ""), nil))
			}
		}
		if len(req.Keys) > maxCacheDeleteKeys {
			return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", "at most "+strconv.Itoa(maxCacheDeleteKeys)+" keys per /cache/delete", "keys"), nil))
		}
		if _, err := c.Delete(ctx, req.Keys); err != nil {
			return stream.Send(errorReply(&translator.Error{Status: 500, Type: "internal_server_error", Code: "500",
				Message: "Cache Delete Failed(" + err.Error() + ")"}, nil))
		}
		out = map[string]any{"status": "success"}
	case cacheFlushAll:
		if _, err := c.Flush(ctx); err != nil {
			return stream.Send(errorReply(&translator.Error{Status: 503, Type: "service_unavailable", Code: "503",
				Message: "Service Unhealthy (" + err.Error() + ")"}, nil))
		}
		out = map[string]any{"status": "success"}
	}
	b, _ := json.Marshal(out)
	return stream.Send(immediate(200, "application/json", b, nil, "llmgate_cache"))
}

// pyStr is a setting as LiteLLM's str() shows it ("None" when unset).
func pyStr(s string) string {
	if s == "" {
		return "None"
	}
	return s
}
