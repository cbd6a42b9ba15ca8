package extproc

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestHdrs: the batched headers are hdr's, each with its own value.
func TestHdrs(t *testing.T) {
	kv := []string{"a", "1", "b", "", "c", "three"}
	got := hdrs(2, kv...)
	if len(got) != 3 || cap(got) != 5 {
		t.Fatalf("len %d cap %d", len(got), cap(got))
	}
	for i, o := range got {
		if want := hdr(kv[2*i], kv[2*i+1]); !proto.Equal(o, want) {
			t.Errorf("%d: %v, want %v", i, o, want)
		}
	}
	got[0].Header.RawValue = append(got[0].Header.RawValue, 'x')
	if string(got[1].Header.RawValue) != "" || string(got[2].Header.RawValue) != "three" {
		t.Error("values share bytes")
	}
}
