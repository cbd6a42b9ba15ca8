package extproc

import (
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// The request context written without the protobuf runtime
// (docs/architecture.md D153): every request the module serves encodes its
// context, and proto.MarshalOptions.MarshalAppend's table-driven reflection
// was most of encodeContext's time in a profile of Envoy on the typical
// config. appendContext writes the bytes proto.Marshal writes (every field
// in field-number order, proto3's zero values left out, fallback_kinds
// packed), the response headers map excepted: encodeContext appends it last,
// as before. TestAppendContextIsMarshal compares the two on contexts with
// every field set, so a field added to RequestContext or Attempt and not
// here fails it.

// appendContext appends c without its response headers; false when a
// string is not UTF-8 (proto.Marshal refuses it: the caller then asks it
// for its error).
func appendContext(b []byte, c *llmgatev1.RequestContext) ([]byte, bool) {
	ok := true
	str := func(num protowire.Number, s string) {
		if s == "" {
			return
		}
		if !utf8.ValidString(s) {
			ok = false
		}
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	varint := func(num protowire.Number, x uint64) {
		if x == 0 {
			return
		}
		b = protowire.AppendTag(b, num, protowire.VarintType)
		b = protowire.AppendVarint(b, x)
	}
	flag := func(num protowire.Number, v bool) {
		if v {
			varint(num, 1)
		}
	}
	str(1, c.CallId)
	str(2, c.ModelGroup)
	str(3, c.RequestedModel)
	varint(4, uint64(int64(c.Endpoint)))
	flag(5, c.Stream)
	flag(6, c.IncludeUsage)
	for _, a := range c.Attempts {
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(attemptSize(a)))
		if a == nil {
			continue
		}
		str(1, a.DeploymentId)
		str(2, a.ModelGroup)
		str(3, a.Model)
		varint(4, uint64(int64(a.FallbackIndex)))
		varint(5, uint64(int64(a.Retry)))
		str(6, a.Provider)
	}
	varint(8, uint64(c.StartUnixNano))
	varint(9, uint64(int64(c.InputTokens)))
	str(10, c.KeyHash)
	varint(11, uint64(c.OverheadNanos))
	// (12, the response headers: encodeContext's)
	flag(13, c.TrackUsage)
	flag(14, c.TrackEnd)
	str(15, c.OriginalPath)
	str(16, c.OriginalAuthority)
	flag(17, c.PolicyFallbacks)
	if len(c.FallbackKinds) > 0 {
		n := 0
		for _, k := range c.FallbackKinds {
			n += protowire.SizeVarint(uint64(int64(k)))
		}
		b = protowire.AppendTag(b, 18, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(n))
		for _, k := range c.FallbackKinds {
			b = protowire.AppendVarint(b, uint64(int64(k)))
		}
	}
	flag(19, c.BodyPrepared)
	str(20, c.KeyAlias)
	str(21, c.TeamId)
	str(22, c.UserId)
	str(23, c.EndUser)
	flag(24, c.KeyParallel)
	str(25, c.Traceparent)
	for _, s := range c.Tags {
		b = protowire.AppendTag(b, 26, protowire.BytesType)
		b = protowire.AppendString(b, s)
		ok = ok && utf8.ValidString(s)
	}
	for _, s := range c.LateTags {
		b = protowire.AppendTag(b, 27, protowire.BytesType)
		b = protowire.AppendString(b, s)
		ok = ok && utf8.ValidString(s)
	}
	str(28, c.UserAgent)
	for _, s := range c.MetadataLabels {
		b = protowire.AppendTag(b, 29, protowire.BytesType)
		b = protowire.AppendString(b, s)
		ok = ok && utf8.ValidString(s)
	}
	return b, ok
}

// attemptSize is the encoded size of a (0 for nil, as proto.Marshal writes
// a nil element of a repeated message field: an empty message).
func attemptSize(a *llmgatev1.Attempt) int {
	if a == nil {
		return 0
	}
	n := 0
	str := func(s string) {
		if s != "" {
			n += 1 + protowire.SizeBytes(len(s))
		}
	}
	num := func(x int32) {
		if x != 0 {
			n += 1 + protowire.SizeVarint(uint64(int64(x)))
		}
	}
	str(a.DeploymentId)
	str(a.ModelGroup)
	str(a.Model)
	num(a.FallbackIndex)
	num(a.Retry)
	str(a.Provider)
	return n
}
