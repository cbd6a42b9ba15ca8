package extproc

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/structpb"
)

// marshalStruct serializes a google.protobuf.Struct as proto.Marshal does
// (map entries in map order), without the protobuf runtime's reflection:
// that was a third of the module's time per served request (D53).
func marshalStruct(s *structpb.Struct) []byte {
	return appendStruct(make([]byte, 0, 512), s)
}

// appendNested appends field num as a length-delimited message written by
// fn: a one-byte length is reserved and widened after when the message is
// longer (each size is computed once, not per nesting level).
func appendNested(b []byte, num protowire.Number, fn func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	at := len(b)
	b = fn(append(b, 0))
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	w := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, w-1)...)
	copy(b[at+w:], b[at+1:at+1+n])
	protowire.AppendVarint(b[at:at], uint64(n))
	return b
}

func appendStruct(b []byte, s *structpb.Struct) []byte {
	for k, v := range s.GetFields() {
		b = appendNested(b, 1, func(b []byte) []byte {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendString(b, k)
			return appendNested(b, 2, func(b []byte) []byte { return appendValue(b, v) })
		})
	}
	return b
}

func appendList(b []byte, l *structpb.ListValue) []byte {
	for _, v := range l.GetValues() {
		b = appendNested(b, 1, func(b []byte) []byte { return appendValue(b, v) })
	}
	return b
}

func appendValue(b []byte, v *structpb.Value) []byte {
	switch k := v.GetKind().(type) {
	case *structpb.Value_NullValue:
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(k.NullValue))
	case *structpb.Value_NumberValue:
		b = protowire.AppendTag(b, 2, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(k.NumberValue))
	case *structpb.Value_StringValue:
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, k.StringValue)
	case *structpb.Value_BoolValue:
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(k.BoolValue))
	case *structpb.Value_StructValue:
		b = appendNested(b, 5, func(b []byte) []byte { return appendStruct(b, k.StructValue) })
	case *structpb.Value_ListValue:
		b = appendNested(b, 6, func(b []byte) []byte { return appendList(b, k.ListValue) })
	}
	return b
}
