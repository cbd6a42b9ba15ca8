package extproc

import (
	"encoding/base64"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// fillMessage sets every field of m (recursively, repeated and map fields
// with n entries) to values drawn from r: a field nobody set would not
// prove its decoding.
func fillMessage(m protoreflect.Message, r *rand.Rand, n int) {
	fs := m.Descriptor().Fields()
	for i := 0; i < fs.Len(); i++ {
		fd := fs.Get(i)
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for j := 0; j < n; j++ {
				mp.Set(protoreflect.ValueOfString(fmt.Sprintf("x-h-%d-%d", j, r.IntN(5))).MapKey(), scalarValue(fd.MapValue(), r))
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for j := 0; j < n; j++ {
				if fd.Kind() == protoreflect.MessageKind {
					e := l.NewElement()
					fillMessage(e.Message(), r, n)
					l.Append(e)
				} else {
					l.Append(scalarValue(fd, r))
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			fillMessage(m.Mutable(fd).Message(), r, n)
		default:
			m.Set(fd, scalarValue(fd, r))
		}
	}
}

func scalarValue(fd protoreflect.FieldDescriptor, r *rand.Rand) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		words := []string{"gpt-4o", "bench-gpt", "sk-é-ü", "", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "OpenAI/Go 1.2.3"}
		return protoreflect.ValueOfString(words[r.IntN(len(words))] + fmt.Sprint(r.IntN(3)))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 1)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(r.IntN(12)))
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(int32(r.Uint32()))
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(int64(r.Uint64()))
	}
	panic(fmt.Sprintf("field %s: kind %s not handled by the test", fd.FullName(), fd.Kind()))
}

// TestUnmarshalContext: the hand-written decoder gives the message
// proto.Unmarshal gives, for contexts with every field set (so a field added
// to RequestContext and not to the decoder fails here), zero values, an
// unknown field, a packed and an unpacked list, and refuses what
// proto.Unmarshal refuses (bad UTF-8, a cut message).
func TestUnmarshalContext(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(name string, b []byte, fast bool) {
		t.Helper()
		want := &llmgatev1.RequestContext{}
		werr := proto.Unmarshal(b, want)
		got := &llmgatev1.RequestContext{}
		gerr := unmarshalContext(b, got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: error %v, proto.Unmarshal's %v", name, gerr, werr)
		}
		if werr == nil && !proto.Equal(got, want) {
			t.Fatalf("%s: decoded\n%v\nwant\n%v", name, got, want)
		}
		if f := decodeContextFields(b, &llmgatev1.RequestContext{}); f != fast {
			t.Fatalf("%s: fast path %v, want %v", name, f, fast)
		}
	}
	for i := 0; i < 300; i++ {
		c := &llmgatev1.RequestContext{}
		fillMessage(c.ProtoReflect(), r, 1+i%4)
		b, err := proto.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("random context %d", i), b, true)
		// The encoder the request filter uses (its map appended last).
		s, err := encodeContext(c)
		if err != nil {
			t.Fatal(err)
		}
		eb, _ := base64.RawURLEncoding.DecodeString(s)
		check(fmt.Sprintf("encodeContext's context %d", i), eb, true)
		rc, err := decodeContext(s)
		if err != nil || !proto.Equal(rc, c) {
			t.Fatalf("decodeContext of context %d: %v, %v", i, rc, err)
		}
	}
	check("empty", nil, true)
	base, _ := proto.Marshal(&llmgatev1.RequestContext{CallId: "a", KeyHash: "h"})
	unknown := protowire.AppendString(protowire.AppendTag(append([]byte(nil), base...), 99, protowire.BytesType), "new")
	check("an unknown field", unknown, false)
	unpacked := protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), base...), 18, protowire.VarintType), 2)
	check("fallback_kinds unpacked", unpacked, true)
	badUTF8 := protowire.AppendString(protowire.AppendTag(append([]byte(nil), base...), 20, protowire.BytesType), "a\xffb")
	check("a key alias not UTF-8", badUTF8, false)
	badAttempt := protowire.AppendBytes(protowire.AppendTag(append([]byte(nil), base...), 7, protowire.BytesType),
		protowire.AppendString(protowire.AppendTag(nil, 3, protowire.BytesType), "m\xfe"))
	check("an attempt's model not UTF-8", badAttempt, false)
	check("a cut message", base[:len(base)-1], false)
	wrongType := protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), base...), 7, protowire.VarintType), 1)
	check("attempts as a varint", wrongType, false)
}

// TestUnmarshalContextAllocs: a keyed context whose strings were seen
// before allocates the message, its attempts and the call id only (its
// response headers cut, as the report reads it).
func TestUnmarshalContextAllocs(t *testing.T) {
	b := withoutResponseHeaders(keyedContextBytes(t)) // (as decodeReportContext)
	separateCachedStrings(t, b)
	c := &llmgatev1.RequestContext{}
	_ = unmarshalContext(b, c)
	n := testing.AllocsPerRun(200, func() {
		c := &llmgatev1.RequestContext{}
		if err := unmarshalContext(b, c); err != nil {
			t.Fatal(err)
		}
	})
	// The message, the attempts' slab and pointers, the call id.
	if n > 4 {
		t.Fatalf("decoding a keyed context makes %.0f allocations, want at most 4", n)
	}
}

// separateCachedStrings picks a string-cache seed under which no two of the
// context's strings share a slot, and empties the cache: the cache is
// direct-mapped with a random seed, so two strings of one context collide
// in a few processes in a hundred and then evict each other (CI saw 8
// allocations once); that costs an allocation in production, and would
// make this test's count depend on the seed.
func separateCachedStrings(t *testing.T, b []byte) {
	t.Helper()
	c := &llmgatev1.RequestContext{}
	if err := proto.Unmarshal(b, c); err != nil {
		t.Fatal(err)
	}
	var strs []string
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message())
				}
			case fd.IsList() && fd.Kind() == protoreflect.StringKind:
				for i := 0; i < v.List().Len(); i++ {
					strs = append(strs, v.List().Get(i).String())
				}
			case fd.Kind() == protoreflect.MessageKind && !fd.IsMap():
				walk(v.Message())
			case fd.Kind() == protoreflect.StringKind && !fd.IsMap():
				strs = append(strs, v.String())
			}
			return true
		})
	}
	walk(c.ProtoReflect())
	old := ctxStrSeed
	t.Cleanup(func() { ctxStrSeed = old })
	for range 1000 {
		ctxStrSeed = maphash.MakeSeed()
		slots := map[uint64]string{}
		clash := false
		for _, s := range strs {
			slot := maphash.String(ctxStrSeed, s) & (ctxStrSlots - 1)
			if o, ok := slots[slot]; ok && o != s {
				clash = true
				break
			}
			slots[slot] = s
		}
		if !clash {
			for i := range ctxStrs {
				ctxStrs[i].Store(nil)
			}
			return
		}
	}
	t.Fatal("no seed keeps the context's strings apart")
}

func keyedContextBytes(t testing.TB) []byte {
	c := &llmgatev1.RequestContext{CallId: "7d5f5d0e-4c1b-4c6f-9a57-1a2b3c4d5e6f", ModelGroup: "bench-gpt", RequestedModel: "bench-gpt",
		Endpoint: llmgatev1.Endpoint_ENDPOINT_CHAT, StartUnixNano: 1764460000000000000, InputTokens: 12,
		KeyHash: "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b", OverheadNanos: 41000, TrackUsage: true, BodyPrepared: true,
		KeyAlias: "bench-500", UserAgent: "OpenAI/Go 1.8.2", ResponseHeaders: map[string]string{"x-litellm-key-spend": "0.0123", "x-litellm-key-max-budget": "1000000"}}
	for i := 0; i < 3; i++ {
		c.Attempts = append(c.Attempts, &llmgatev1.Attempt{DeploymentId: fmt.Sprintf("dep-%d", i), ModelGroup: "bench-gpt", Model: "gpt-4o", Retry: int32(i), Provider: "openai"})
	}
	s, err := encodeContext(c) // (the response headers last)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := base64.RawURLEncoding.DecodeString(s)
	return b
}

func BenchmarkDecodeReportContext(b *testing.B) {
	raw := keyedContextBytes(b)
	s := base64.RawURLEncoding.EncodeToString(raw)
	b.Run("proto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := &llmgatev1.RequestContext{}
			d, _ := base64.RawURLEncoding.DecodeString(s)
			if err := proto.Unmarshal(withoutResponseHeaders(d), c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeReportContext", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeReportContext(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
