package extproc

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestMarshalStruct: the module's hand-written Struct encoding reads back
// as the very Struct, for every kind of value, nested (as proto.Marshal's).
func TestMarshalStruct(t *testing.T) {
	s, err := structpb.NewStruct(map[string]any{
		"s": "text", "empty": "", "n": 1.5, "zero": 0.0, "neg": -3.0, "t": true, "f": false, "null": nil,
		"nested": map[string]any{"list": []any{"a", 2.0, map[string]any{"k": "v"}, []any{}, nil, false}, "e": map[string]any{}},
		"long":   string(make([]byte, 300)),
		"huge":   map[string]any{"l": []any{string(make([]byte, 20000)), map[string]any{"x": string(make([]byte, 200))}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []*structpb.Struct{s, {}, {Fields: map[string]*structpb.Value{"x": structpb.NewStructValue(&structpb.Struct{})}}} {
		b := marshalStruct(in)
		want, err := proto.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != len(want) {
			t.Errorf("%d bytes, proto.Marshal %d", len(b), len(want))
		}
		var out structpb.Struct
		if err := proto.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(in, &out) {
			t.Errorf("read back %v, want %v", &out, in)
		}
	}
}
