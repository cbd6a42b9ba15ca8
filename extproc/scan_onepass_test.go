package extproc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
)

// The scanners D175 made faster, each compared with the one it replaced
// (kept here as the reference) on generated inputs.

// refScanString is scanString before strStop: byte by byte.
func refScanString(b []byte, i int) (start, end int, escaped bool, next int) {
	start = i + 1
	for j := start; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return start, j, escaped, j + 1
		}
	}
	return 0, 0, false, -1
}

// refStrEnd is strEnd before strStop.
func refStrEnd(s []byte, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

// refScanTopLevel is scanTopLevelOf before D175: the whole body checked
// by validJSON, then scanned (its strings byte by byte).
func refScanTopLevel(b []byte, fn func(key []byte, escaped bool, value []byte) bool) bool {
	if !validJSON(b) {
		return false
	}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) {
		if b[i] != '"' {
			return false
		}
		ks, ke, esc, next := refScanString(b, i)
		if next < 0 {
			return false
		}
		i = skipWS(b, next)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		end := skipValue(b, i)
		if end < 0 {
			return false
		}
		if !fn(b[ks:ke], esc, b[i:end]) {
			return false
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return true
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
	return false
}

// mutate changes b at 1–4 random places (a byte replaced, inserted,
// deleted; the body cut off).
func mutate(r *rand.Rand, b []byte, alphabet []byte) []byte {
	b = bytes.Clone(b)
	for m := r.IntN(4) + 1; m > 0; m-- {
		p := r.IntN(len(b) + 1)
		switch r.IntN(4) {
		case 0:
			if p < len(b) {
				b[p] = alphabet[r.IntN(len(alphabet))]
			}
		case 1:
			b = append(b[:p], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[p:]...)...)
		case 2:
			if p < len(b) {
				b = append(b[:p], b[p+1:]...)
			}
		case 3:
			if r.IntN(4) == 0 {
				b = b[:p]
			}
		}
	}
	return b
}

var jsonAlphabet = []byte("{}[]\":,\\/ \t\r\n0123456789.-+eEtrufalsn\x00\x1f\x7f\xffabu")

// checkStrScans: strStop, scanString and strEnd agree with byte-by-byte
// scans at every offset of b.
func checkStrScans(t *testing.T, b []byte) {
	t.Helper()
	for i := 0; i <= len(b); i++ {
		want := i
		for want < len(b) && b[want] != '"' && b[want] != '\\' && b[want] >= 0x20 {
			want++
		}
		if got := strStop(b, i); got != want {
			t.Fatalf("strStop(%q, %d) = %d, want %d", b, i, got, want)
		}
		if i < len(b) {
			s1, e1, x1, n1 := scanString(b, i)
			s2, e2, x2, n2 := refScanString(b, i)
			if s1 != s2 || e1 != e2 || x1 != x2 || n1 != n2 {
				t.Fatalf("scanString(%q, %d) = %d %d %v %d, want %d %d %v %d", b, i, s1, e1, x1, n1, s2, e2, x2, n2)
			}
			if got, want := strEnd(b, i), refStrEnd(b, i); got != want {
				t.Fatalf("strEnd(%q, %d) = %d, want %d", b, i, got, want)
			}
		}
	}
}

// TestStrStopIsByteScan: the eight-bytes-at-a-time stop of a string's run
// agrees with the byte-by-byte scans it replaced, on random bytes weighted
// to the ones that stop (quotes, backslashes, control bytes, 0x7f–0xff and
// the bytes next to them, where a borrow would mislead a word test).
func TestStrStopIsByteScan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	special := []byte{'"', '\\', 0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0x9f, 0xa0, 0xdc, 0xff, 'a', ' '}
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.IntN(40))
		for i := range b {
			if r.IntN(3) == 0 {
				b[i] = byte(r.IntN(256))
			} else if r.IntN(4) == 0 {
				b[i] = special[r.IntN(len(special))]
			} else {
				b[i] = 'a' + byte(r.IntN(26))
			}
		}
		checkStrScans(t, b)
	}
}

type topCall struct {
	key   string
	esc   bool
	value string
}

func topCalls(scan func([]byte, func([]byte, bool, []byte) bool) bool, b []byte, stopAt int) (bool, []topCall) {
	var calls []topCall
	ok := scan(b, func(k []byte, esc bool, v []byte) bool {
		calls = append(calls, topCall{string(k), esc, string(v)})
		return len(calls) != stopAt
	})
	return ok, calls
}

// TestScanTopLevelOnePass: scanTopLevel, which checks each top-level value
// while it skips it, answers as the check of the whole body followed by the
// scan did (refScanTopLevel) — the same result, and for a valid body the
// same keys and values in the same order, fn stopping it or not — on
// hand-picked bodies and 300,000 mutations of chat bodies; and the scan of
// a body known valid (readFieldsOf's) gives the same calls.
func TestScanTopLevelOnePass(t *testing.T) {
	cases := []string{
		``, `{}`, ` {} `, `{} x`, `{}}`, `{"a":1}`, `{"a":1} `, `{"a":1}x`, `{"a":1,}`, `{"a" 1}`, `{"a":1 "b":2}`,
		`{"a":[1,2]}`, `{"a":[1,2}`, `{"a":{"b":[}}`, `{"a":"\u00e9\"x"}`, `{"a\"b":1}`, `{"a\x":1}`, "{\"a\x01\":1}",
		`[]`, `"x"`, `1`, `{"a":01}`, `{"a":tru}`, `{"a":true,"b":null,"c":-1.5e3}`, `{"a":"x"}{}`, "{\"a\":\"x\ty\"}",
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`,
	}
	check := func(b []byte, stopAt int) {
		t.Helper()
		gotOK, got := topCalls(scanTopLevel, b, stopAt)
		wantOK, want := topCalls(refScanTopLevel, b, stopAt)
		if gotOK != wantOK {
			t.Fatalf("scanTopLevel(%q) stopping at %d = %v, the reference %v", b, stopAt, gotOK, wantOK)
		}
		if wantOK || validJSON(b) {
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("scanTopLevel(%q) stopping at %d called fn with %v, the reference with %v", b, stopAt, got, want)
			}
			validOK, valid := topCalls(func(b []byte, fn func([]byte, bool, []byte) bool) bool { return scanTopLevelOf(b, true, fn) }, b, stopAt)
			if validOK != wantOK || fmt.Sprint(valid) != fmt.Sprint(want) {
				t.Fatalf("scanTopLevelOf(%q, valid) = %v %v, the reference %v %v", b, validOK, valid, wantOK, want)
			}
		}
	}
	for _, c := range cases {
		for stop := 0; stop < 4; stop++ {
			check([]byte(c), stop)
		}
	}
	seeds := []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"Hello, \"world\" \u00e9\n"}],"temperature":0.7,"max_tokens":-12,"stream":false,"stop":null,"n":1e3}`,
		`{"model":"bench-gpt","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly."},{"role":"user","content":"Summarise the benefits of running an LLM gateway on Envoy in one paragraph."}],"temperature":0.2,"max_tokens":256}`,
		`{"model":"m","input":["a","b"],"encoding_format":"float","dimensions":1536,"logit_bias":{"50256":-100},"tools":[{"type":"function"}], "user" : "u\\x" }`,
	}
	r := rand.New(rand.NewPCG(5, 6))
	valid := 0
	for i := 0; i < 300000; i++ {
		b := mutate(r, []byte(seeds[i%len(seeds)]), jsonAlphabet)
		if json.Valid(b) {
			valid++
		}
		check(b, r.IntN(8))
		if i%50 == 0 {
			checkStrScans(t, b)
		}
	}
	if valid < 5000 {
		t.Errorf("only %d of the mutations were valid JSON: the test compares too few", valid)
	}
}

// TestQuickOnePass: quick, reading the chunk's keys in one pass over its
// quotes, answers as the five searches did (quickRef): the same output and
// ok, the same model and finish reason kept, for streams that strip the
// usage or not and restamp the model or not, on the usual chunks and
// 300,000 built from the keys' pieces and mutated.
func TestQuickOnePass(t *testing.T) {
	usual := []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{"id":"x","model":"up","choices":[{"index":0,"delta":{},"finish_reason":"content_filter"}],"usage":null}`,
		`{"id":"x","created":0,"model":"up","choices":[]}`,
		`{"error":{"message":"boom"}}`,
		`{"id":"x","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
		`{"choices":[{"delta":{"model":"nested"}}],"model":"top"}`,
		`{"model" : "a\"b","x":1}`, `{"model":"`, `"model"`, `rror"`, `"`, ``,
	}
	pieces := []string{
		`"model"`, `"model":"gpt"`, `"model": "up"`, `"model":1`, `"created"`, `"created":0`, `"created": 0 `, `"created":0}`,
		`"created":1700000000`, `"finish_reason"`, `"finish_reason":"content_filter"`, `"finish_reason": "stop"`,
		`"usage"`, `"usage":null`, `"usage" : null`, `"usage":{"total_tokens":3}`, `"error"`, `"terror"`, `rror"`,
		`{`, `}`, `[`, `]`, `,`, `:`, `"`, `\"`, `\\`, ` `, "\t", "\n", `0`, `null`, `"x"`, `"id":"chatcmpl-1"`,
		`"choices":[{"index":0,"delta":{"content":"hi"}}]`, `,"usage":null}`,
	}
	alphabet := []byte("{}[]\":,\\ \t\n0nulmodecratfishr_")
	r := rand.New(rand.NewPCG(7, 8))
	type side struct{ st, ref *RespStream }
	var sides []side
	for _, strip := range []bool{false, true} {
		for _, model := range []string{"", "up", "gpt"} {
			sides = append(sides, side{&RespStream{model: model, strip: strip}, &RespStream{model: model, strip: strip}})
		}
	}
	okCount := 0
	check := func(d []byte) {
		t.Helper()
		for _, s := range sides {
			got, gotOK := s.st.quick(bytes.Clone(d))
			want, wantOK := s.ref.quickRef(bytes.Clone(d))
			if gotOK != wantOK || !bytes.Equal(got, want) || s.st.Usage != s.ref.Usage {
				t.Fatalf("quick(%q) strip %v model %q = %q %v %+v, the reference %q %v %+v", d, s.st.strip, s.st.model,
					got, gotOK, s.st.Usage, want, wantOK, s.ref.Usage)
			}
			if gotOK {
				okCount++
			}
		}
	}
	for _, u := range usual {
		check([]byte(u))
	}
	for n := 0; n < 300000; n++ {
		var d []byte
		if n%3 == 0 {
			d = mutate(r, []byte(usual[r.IntN(3)]), alphabet)
		} else {
			d = []byte{'{'}
			for k := r.IntN(10); k >= 0; k-- {
				d = append(d, pieces[r.IntN(len(pieces))]...)
			}
			if r.IntN(2) == 0 {
				d = append(d, `,"usage":null}`...)
			}
		}
		check(d)
	}
	if okCount < 100000 {
		t.Errorf("only %d quick answers: the test does not reach the rewrite", okCount)
	}
}

// TestNextStructural: the table's search stops where the switch did.
func TestNextStructural(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.IntN(256))
			if r.IntN(2) == 0 {
				b[i] = "{}[]\"ab:,\\ z{|}~Z[\\]^"[r.IntN(21)]
			}
		}
		for i := 0; i <= len(b); i++ {
			want := -1
			for j := i; j < len(b); j++ {
				if c := b[j]; c == '{' || c == '}' || c == '[' || c == ']' || c == '"' {
					want = j
					break
				}
			}
			if got := nextStructural(b, i); got != want {
				t.Fatalf("nextStructural(%q, %d) = %d, want %d", b, i, got, want)
			}
		}
	}
}

// FuzzScanTopLevel: the one-pass top-level scan answers as the reference
// (the whole body checked, then scanned), and its check as json.Valid.
func FuzzScanTopLevel(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi \"x\" \u00e9"}],"max_tokens":16}`), 2)
	f.Add([]byte(`{"a":1}x`), 0)
	f.Fuzz(func(t *testing.T, b []byte, stopAt int) {
		gotOK, got := topCalls(scanTopLevel, b, stopAt)
		wantOK, want := topCalls(refScanTopLevel, b, stopAt)
		if gotOK != wantOK || wantOK && fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("scanTopLevel(%q) = %v %v, the reference %v %v", b, gotOK, got, wantOK, want)
		}
		if validJSON(b) != json.Valid(b) {
			t.Fatalf("validJSON(%q) != json.Valid", b)
		}
		checkStrScans(t, b)
	})
}

// FuzzQuick: quick answers as the five searches did.
func FuzzQuick(f *testing.F) {
	f.Add([]byte(`{"id":"x","created":1,"model":"up","choices":[{"delta":{"content":"a"},"finish_reason":"content_filter"}],"usage":null}`), true, "m")
	f.Fuzz(func(t *testing.T, d []byte, strip bool, model string) {
		st, ref := &RespStream{model: model, strip: strip}, &RespStream{model: model, strip: strip}
		got, gotOK := st.quick(bytes.Clone(d))
		want, wantOK := ref.quickRef(bytes.Clone(d))
		if gotOK != wantOK || !bytes.Equal(got, want) || st.Usage != ref.Usage {
			t.Fatalf("quick(%q) = %q %v %+v, the reference %q %v %+v", d, got, gotOK, st.Usage, want, wantOK, ref.Usage)
		}
	})
}
