package respcache

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// controls are the body's "cache" object as LiteLLM reads it
// (DynamicCacheControl): "no-cache" skips the read, "no-store" the write,
// "ttl" sets the entry's time to live, "s-maxage" (or "s-max-age") rejects
// older entries, "namespace" prefixes the key, "use-cache" opts a request in
// under mode default_off. A switch counts only when it is JSON true (LiteLLM
// tests "is True"). metadata.redis_namespace is LiteLLM's older spelling of
// the namespace.
type controls struct {
	noCache, noStore, useCache bool
	ttl, maxAge                time.Duration
	namespace                  string
}

// readControls reads them; ok is false when a number or the namespace is
// out of bounds (the request is then not cached at all).
func readControls(body []byte) (controls, bool) {
	var c controls
	cc := gjson.GetBytes(body, "cache")
	if cc.IsObject() {
		c.noCache = cc.Get("no-cache").Type == gjson.True
		c.noStore = cc.Get("no-store").Type == gjson.True
		c.useCache = cc.Get("use-cache").Type == gjson.True
		var ok bool
		if c.ttl, ok = seconds(cc.Get("ttl")); !ok {
			return c, false
		}
		ma := cc.Get("s-maxage")
		if !ma.Exists() || ma.Type == gjson.Null {
			ma = cc.Get("s-max-age")
		}
		if c.maxAge, ok = seconds(ma); !ok {
			return c, false
		}
		if ns := cc.Get("namespace"); ns.Type == gjson.String {
			c.namespace = ns.Str
		}
	}
	if c.namespace == "" {
		if ns := gjson.GetBytes(body, "metadata.redis_namespace"); ns.Type == gjson.String {
			c.namespace = ns.Str
		}
	}
	if len(c.namespace) > maxNamespace || strings.Contains(c.namespace, "\n") {
		return c, false
	}
	return c, true
}

// seconds reads a number of seconds (absent or null: 0); ok is false for a
// value that is not a number, not positive, or above maxTTL.
func seconds(r gjson.Result) (time.Duration, bool) {
	if !r.Exists() || r.Type == gjson.Null {
		return 0, true
	}
	if r.Type != gjson.Number {
		return 0, false
	}
	f := r.Float()
	if math.IsNaN(f) || f <= 0 || f > maxTTL.Seconds() {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// eachTopLevel calls f with each top-level field of a JSON object body but
// nulls: its name and its value (a string's text unquoted, anything else
// as compact JSON).
func eachTopLevel(body []byte, f func(k string, v []byte, str bool)) {
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		if v.Type != gjson.Null {
			f(k.Str, topLevelValue(v), v.Type == gjson.String)
		}
		return true
	})
}

// topLevelValue is a value as the key writes it: a string's text unquoted,
// anything else as compact JSON.
func topLevelValue(v gjson.Result) []byte {
	if v.Type == gjson.String {
		return []byte(v.Str)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(v.Raw)) != nil {
		return []byte(v.Raw)
	}
	return buf.Bytes()
}
