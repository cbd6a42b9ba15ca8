package extproc

import (
	"hash/maphash"
	"sync/atomic"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// The request context read without the protobuf runtime
// (docs/architecture.md D135). Every outcome record the gateway reports
// decodes its request's context; on a virtual key's answer (whose record
// the spend needs, D124) proto.Unmarshal was the largest part of the
// gateway's CPU (18 % in a keys profile): its reflection, the UTF-8 check
// and one allocation per string. Most of those strings repeat from request
// to request (the key's hash, alias and user agent, the groups, the
// deployments and their models): they are taken from a small cache of
// strings instead of allocated. A field this decoder does not know (a newer
// RequestContext) falls back to proto.Unmarshal, so the result is always
// the message proto.Unmarshal makes.

// ctxStrSlots is the number of cached context strings (a power of two).
const ctxStrSlots = 1024

// ctxStrMax bounds the length of a cached string (longer ones allocate).
const ctxStrMax = 256

var (
	ctxStrs    [ctxStrSlots]atomic.Pointer[string]
	ctxStrSeed = maphash.MakeSeed()
)

// ctxString is string(b), from the cache when it holds it; bad is set when
// b is not UTF-8 (proto.Unmarshal refuses it; a cached string was checked
// when it was cached).
func ctxString(b []byte, bad *bool) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > ctxStrMax {
		return ownString(b, bad)
	}
	slot := &ctxStrs[maphash.Bytes(ctxStrSeed, b)&(ctxStrSlots-1)]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	if !utf8.Valid(b) {
		*bad = true
		return string(b) // (never cached: a hit is taken as checked)
	}
	s := string(b)
	slot.Store(&s)
	return s
}

// ownString is string(b), allocated; bad is set when b is not UTF-8.
func ownString(b []byte, bad *bool) string {
	if !utf8.Valid(b) {
		*bad = true
	}
	return string(b)
}

// unmarshalContext fills c (empty) from b as proto.Unmarshal does. The
// call id and traceparent are the request's own and allocated; every other
// string comes from ctxString.
func unmarshalContext(b []byte, c *llmgatev1.RequestContext) error {
	if !decodeContextFields(b, c) {
		proto.Reset(c)
		return proto.Unmarshal(b, c)
	}
	return nil
}

// decodeContextFields is unmarshalContext's fast path: false when b has a
// field it does not know, a wire type it does not expect, or does not parse
// (proto.Unmarshal then decides).
func decodeContextFields(b []byte, c *llmgatev1.RequestContext) bool {
	attempts := 0
	for i := 0; i < len(b); {
		num, typ, n := protowire.ConsumeTag(b[i:])
		if n < 0 {
			return false
		}
		m := protowire.ConsumeFieldValue(num, typ, b[i+n:])
		if m < 0 {
			return false
		}
		if num == 7 {
			attempts++
		}
		i += n + m
	}
	bad := false
	var slab []llmgatev1.Attempt
	if attempts > 0 {
		slab = make([]llmgatev1.Attempt, attempts)
		c.Attempts = make([]*llmgatev1.Attempt, 0, attempts)
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			b = b[n:]
			switch num {
			case 4:
				c.Endpoint = llmgatev1.Endpoint(int32(x))
			case 5:
				c.Stream = x != 0
			case 6:
				c.IncludeUsage = x != 0
			case 8:
				c.StartUnixNano = int64(x)
			case 9:
				c.InputTokens = int32(x)
			case 11:
				c.OverheadNanos = int64(x)
			case 13:
				c.TrackUsage = x != 0
			case 14:
				c.TrackEnd = x != 0
			case 17:
				c.PolicyFallbacks = x != 0
			case 18:
				c.FallbackKinds = append(c.FallbackKinds, int32(x))
			case 19:
				c.BodyPrepared = x != 0
			case 24:
				c.KeyParallel = x != 0
			default:
				return false
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			b = b[n:]
			switch num {
			case 1:
				c.CallId = ownString(v, &bad)
			case 2:
				c.ModelGroup = ctxString(v, &bad)
			case 3:
				c.RequestedModel = ctxString(v, &bad)
			case 7:
				a := &slab[len(c.Attempts)]
				if !decodeAttempt(v, a, &bad) {
					return false
				}
				c.Attempts = append(c.Attempts, a)
			case 10:
				c.KeyHash = ctxString(v, &bad)
			case 12:
				k, val, ok := decodeStringEntry(v, &bad)
				if !ok {
					return false
				}
				if c.ResponseHeaders == nil {
					c.ResponseHeaders = map[string]string{}
				}
				c.ResponseHeaders[k] = val
			case 15:
				c.OriginalPath = ctxString(v, &bad)
			case 16:
				c.OriginalAuthority = ctxString(v, &bad)
			case 18:
				for len(v) > 0 { // packed
					x, n := protowire.ConsumeVarint(v)
					if n < 0 {
						return false
					}
					c.FallbackKinds = append(c.FallbackKinds, int32(x))
					v = v[n:]
				}
			case 20:
				c.KeyAlias = ctxString(v, &bad)
			case 21:
				c.TeamId = ctxString(v, &bad)
			case 22:
				c.UserId = ctxString(v, &bad)
			case 23:
				c.EndUser = ctxString(v, &bad)
			case 25:
				c.Traceparent = ownString(v, &bad)
			case 26:
				c.Tags = append(c.Tags, ctxString(v, &bad))
			case 27:
				c.LateTags = append(c.LateTags, ctxString(v, &bad))
			case 28:
				c.UserAgent = ctxString(v, &bad)
			case 29:
				c.MetadataLabels = append(c.MetadataLabels, ctxString(v, &bad))
			default:
				return false
			}
		default:
			return false
		}
	}
	return !bad
}

// decodeAttempt fills a (empty) from one Attempt message.
func decodeAttempt(b []byte, a *llmgatev1.Attempt, bad *bool) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return false
			}
			b = b[n:]
			switch num {
			case 4:
				a.FallbackIndex = int32(x)
			case 5:
				a.Retry = int32(x)
			default:
				return false
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return false
			}
			b = b[n:]
			switch num {
			case 1:
				a.DeploymentId = ctxString(v, bad)
			case 2:
				a.ModelGroup = ctxString(v, bad)
			case 3:
				a.Model = ctxString(v, bad)
			case 6:
				a.Provider = ctxString(v, bad)
			default:
				return false
			}
		default:
			return false
		}
	}
	return true
}

// decodeStringEntry reads a map<string, string> entry (a missing key or
// value is "", as proto.Unmarshal reads it).
func decodeStringEntry(b []byte, bad *bool) (k, v string, ok bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.BytesType || num != 1 && num != 2 {
			return "", "", false
		}
		b = b[n:]
		x, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return "", "", false
		}
		b = b[n:]
		if num == 1 {
			k = ctxString(x, bad)
		} else {
			v = ctxString(x, bad)
		}
	}
	return k, v, true
}
