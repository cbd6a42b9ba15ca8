package extproc

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestValidJSONIsJSONValid: validJSON answers as json.Valid for hand-picked
// edge cases, the nesting bound, and 200,000 random mutations of chat
// bodies (bytes replaced, inserted, deleted, cut off; a fixed seed).
func TestValidJSONIsJSONValid(t *testing.T) {
	cases := []string{
		``, ` `, `{}`, ` {} `, `[]`, `{`, `}`, `[`, `]`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`,
		`[1,]`, `[,1]`, `[1 2]`, `"x"`, `"x`, `"\"`, `"\\"`, `"\/"`, `"\x"`, `"\u00e9"`, `"\u00g9"`, `"\u00e"`, `"\uABCD"`,
		"\"a\tb\"", "\"a\x1fb\"", "\"a\x7fb\"", "\"\xff\xfe\"", `0`, `-0`, `01`, `-01`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`,
		`1e-5`, `1e`, `1e+`, `-`, `+1`, `1.5e3.2`, `true`, `false`, `null`, `tru`, `truex`, `nul`, `True`, `[true,false,null]`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "\t\r\n{}\n", "{}\x00", `{"a":{"b":[1,{"c":null}]}}`,
		`{"a":"b"}{}`, `1 2`, `{"":""}`, `[[]]`, `[{}]`, `{"a":[}`, `{"a":]}`, "\v{}", "{}\f",
	}
	for _, c := range cases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid %v", c, got, want)
		}
	}
	for _, depth := range []int{9999, 10000, 10001} {
		for _, open := range []string{"[", `{"a":`} {
			close := "]"
			if open != "[" {
				close = "}"
			}
			b := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(close, depth))
			if got, want := validJSON(b), json.Valid(b); got != want {
				t.Errorf("depth %d of %s: validJSON %v, json.Valid %v", depth, open, got, want)
			}
		}
	}
	seeds := []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"Hello, \"world\" \u00e9\n"}],"temperature":0.7,"max_tokens":-12,"stream":false,"stop":null,"n":1e3}`,
		`{"model":"m","input":["a","b"],"encoding_format":"float","dimensions":1536,"logit_bias":{"50256":-100},"tools":[{"type":"function"}]}`,
	}
	alphabet := []byte("{}[]\":,\\/ \t\r\n0123456789.-+eEtrufalsn\x00\x1f\x7f\xffabu")
	r := rand.New(rand.NewPCG(1, 2))
	valid := 0
	for i := 0; i < 200000; i++ {
		b := []byte(seeds[i%len(seeds)])
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
				b = b[:p]
			}
		}
		want := json.Valid(b)
		if want {
			valid++
		}
		if got := validJSON(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	}
	if valid < 1000 {
		t.Errorf("only %d of the mutations were valid JSON: the test compares too few", valid)
	}
}

func BenchmarkValidJSON(b *testing.B) {
	body := []byte(`{"model":"typical","messages":[{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":16}`)
	b.Run("validJSON", func(b *testing.B) {
		for b.Loop() {
			validJSON(body)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		for b.Loop() {
			json.Valid(body)
		}
	})
}
