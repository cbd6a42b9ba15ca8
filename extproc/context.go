package extproc

import (
	"encoding/base64"
	"fmt"
	"sync"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// encodeContext serializes the request context for the dynamic metadata the
// attempt filter reads (contract.ContextMetadataNamespace, field "ctx"; D2).
func encodeContext(c *llmgatev1.RequestContext) (string, error) {
	// The response headers map is appended by hand: the protobuf
	// runtime's map encoding goes through reflection (two allocations per
	// entry). Fields may come in any order; the decoded message is the same.
	// The bytes go into a pooled buffer, their base64 into the string's own
	// bytes: one allocation (D93).
	// The rest is appended by hand too (appendContext, D153); a string
	// that is not UTF-8 gets proto.Marshal's error.
	bp := contextBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			contextBufs.Put(bp)
		}
	}()
	b, ok := appendContext((*bp)[:0], c)
	if !ok {
		h := c.ResponseHeaders
		c.ResponseHeaders = nil
		_, err := proto.Marshal(c)
		c.ResponseHeaders = h
		if err != nil {
			return "", err
		}
	}
	h := c.ResponseHeaders
	for k, v := range h {
		b = protowire.AppendTag(b, responseHeadersField, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(1+protowire.SizeBytes(len(k))+1+protowire.SizeBytes(len(v))))
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, v)
	}
	*bp = b
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(b)))
	base64.RawURLEncoding.Encode(out, b)
	return unsafe.String(unsafe.SliceData(out), len(out)), nil // (out is never written again)
}

// contextBufs are encodeContext's marshalling buffers.
var contextBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// responseHeadersField is RequestContext.response_headers' field number.
const responseHeadersField = 12

// decodeContext reads the request context the request filter wrote.
func decodeContext(s string) (*llmgatev1.RequestContext, error) {
	return decodeContextCut(s, false)
}

// decodeReportContext is decodeContext for the outcome log's report, which
// never reads the response headers (D84: a virtual key's context carries its
// x-litellm-key-* headers; decoding the map was a tenth of the gateway's CPU
// in a keys profile). encodeContext appends them last, so the bytes from the
// first response header on are cut before the rest is decoded; a context
// with another field after a response header (not one encodeContext wrote)
// is decoded whole.
func decodeReportContext(s string) (*llmgatev1.RequestContext, error) {
	return decodeContextCut(s, true)
}

// decodeContextCut is decodeContext, without the response headers when
// noHeaders.
func decodeContextCut(s string, noHeaders bool) (*llmgatev1.RequestContext, error) {
	if s == "" {
		return nil, fmt.Errorf("missing request context")
	}
	// Decoded into a pooled buffer (D166: DecodeString allocated the
	// bytes and a copy of s, per record): the message copies every string
	// it keeps (RequestContext has no bytes field).
	bp := contextBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			contextBufs.Put(bp)
		}
	}()
	n := base64.RawURLEncoding.DecodedLen(len(s))
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	b := (*bp)[:n]
	n, err := base64.RawURLEncoding.Decode(b, unsafe.Slice(unsafe.StringData(s), len(s)))
	if err != nil {
		return nil, fmt.Errorf("request context: %w", err)
	}
	b = b[:n]
	if noHeaders {
		b = withoutResponseHeaders(b)
	}
	c := &llmgatev1.RequestContext{}
	if err := unmarshalContext(b, c); err != nil { // (context_decode.go, D135)
		return nil, fmt.Errorf("request context: %w", err)
	}
	return c, nil
}

// withoutResponseHeaders is b up to its response headers when nothing but
// response headers follows the first of them; b otherwise (or when b does
// not parse: Unmarshal says why).
func withoutResponseHeaders(b []byte) []byte {
	cut := -1
	for i := 0; i < len(b); {
		num, typ, n := protowire.ConsumeTag(b[i:])
		if n < 0 {
			return b
		}
		if num == responseHeadersField {
			if cut < 0 {
				cut = i
			}
		} else if cut >= 0 {
			return b // another field after a response header
		}
		m := protowire.ConsumeFieldValue(num, typ, b[i+n:])
		if m < 0 {
			return b
		}
		i += n + m
	}
	if cut < 0 {
		return b
	}
	return b[:cut]
}
