package main

import (
	"encoding/binary"
	"math"
)

// A tiny zero-allocation writer for google.protobuf.Struct / Value /
// ListValue, enough for the plan metadata (no reflection, no protobuf
// dependency). It writes backwards from the end of a caller's buffer, so
// every length is known when its prefix is written.
//
//	Struct    { map<string, Value> fields = 1; }  (entry: key = 1, value = 2)
//	Value     { number_value = 2 (double); string_value = 3; struct_value = 5; list_value = 6 }
//	ListValue { repeated Value values = 1; }
type rev struct {
	b []byte
	p int // b[p:] is written
}

func newRev(b []byte) *rev { return &rev{b: b, p: len(b)} }

func (w *rev) bytes(s string) {
	w.p -= len(s)
	copy(w.b[w.p:], s)
}

func (w *rev) byte1(c byte) { w.p--; w.b[w.p] = c }

func (w *rev) varint(v uint64) {
	var t [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(t[:], v)
	w.p -= n
	copy(w.b[w.p:], t[:n])
}

// wrap turns the bytes written since mark into a length-delimited field.
func (w *rev) wrap(mark int, tag byte) {
	w.varint(uint64(mark - w.p))
	w.byte1(tag)
}

func (w *rev) stringValue(s string) { // Value{string_value}
	m := w.p
	w.bytes(s)
	w.wrap(m, 0x1a)
}

func (w *rev) numberValue(f float64) { // Value{number_value}
	w.p -= 8
	binary.LittleEndian.PutUint64(w.b[w.p:], math.Float64bits(f))
	w.byte1(0x11)
}

// entry writes a Struct map entry; value must write one Value's fields.
func (w *rev) entry(key string, value func()) {
	m := w.p
	vm := w.p
	value()
	w.wrap(vm, 0x12) // entry.value
	km := w.p
	w.bytes(key)
	w.wrap(km, 0x0a) // entry.key
	w.wrap(m, 0x0a)  // Struct.fields
}

var attemptNames = [...]string{"attempt0", "attempt1", "attempt2", "attempt3", "attempt4", "attempt5", "attempt6", "attempt7"}

// planStruct encodes google.protobuf.Struct
// {priority_groups: [{name: "attemptN", clusters: [{cluster_name: X, weight: 1}]}, ...]}
// (what Envoy's priority_group cluster specifier reads from override_metadata_namespace)
// into the end of buf, and returns the encoded bytes.
func planStruct(buf []byte, plan []string) []byte {
	if len(plan) > len(attemptNames) {
		plan = plan[:len(attemptNames)]
	}
	w := newRev(buf)
	w.entry("priority_groups", func() {
		lm := w.p
		for i := len(plan) - 1; i >= 0; i-- {
			vm := w.p // ListValue.values[i] = Value{struct_value: group}
			sm := w.p
			w.entry("name", func() { w.stringValue(attemptNames[i]) })
			w.entry("clusters", func() {
				cm := w.p // Value{list_value: [Value{struct_value: cluster}]}
				im := w.p
				sm2 := w.p
				w.entry("weight", func() { w.numberValue(1) })
				w.entry("cluster_name", func() { w.stringValue(plan[i]) })
				w.wrap(sm2, 0x2a) // Value.struct_value
				w.wrap(im, 0x0a)  // ListValue.values
				w.wrap(cm, 0x32)  // Value.list_value
			})
			w.wrap(sm, 0x2a) // Value.struct_value
			w.wrap(vm, 0x0a) // ListValue.values
		}
		w.wrap(lm, 0x32) // Value.list_value
	})
	return w.b[w.p:]
}
