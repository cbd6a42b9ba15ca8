package extproc

import (
	"bytes"
	"math/rand"
	"testing"
)

// trailingUsageNullForward is the forward scan trailingUsageNull replaced
// (every comma tried, D165): the reference it must agree with.
func trailingUsageNullForward(d []byte) int {
	for i := 0; i < len(d); i++ {
		if d[i] != ',' {
			continue
		}
		j := skipSpace(d, i+1)
		j = afterKeyColon(d, j, `"usage"`)
		if j < 0 || !bytes.HasPrefix(d[j:], []byte("null")) {
			continue
		}
		j = skipSpace(d, j+4)
		if j >= len(d) || d[j] != '}' {
			continue
		}
		if skipSpace(d, j+1) == len(d) {
			return i
		}
	}
	return -1
}

// TestTrailingUsageNull: the backward read finds what the forward scan
// found, on events built from the pattern's pieces in every order (200,000
// of them) and on the usual ones.
func TestTrailingUsageNull(t *testing.T) {
	usual := []string{
		`{"id":"x","model":"up","choices":[{"delta":{"content":"he"}}],"usage":null}`,
		`{"id":"x","model":"up","choices":[],"usage" : null }` + " \r",
		`{"id":"x","usage":null,"model":"up"}`,
		`{"id":"x","usage":{"prompt_tokens":7}}`,
		`,"usage":null}`, `"usage":null}`, `}`, ``, `null}`, `,"usage":nul}`,
	}
	for _, e := range usual {
		if got, want := trailingUsageNull([]byte(e)), trailingUsageNullForward([]byte(e)); got != want {
			t.Errorf("%q: %d, want %d", e, got, want)
		}
	}
	pieces := []string{",", " ", "\t", "\v", `"usage"`, `"usage`, ":", "null", "nul", "}", "{", `"`, "x", "\n"}
	r := rand.New(rand.NewSource(1))
	matched := 0
	for n := 0; n < 200000; n++ {
		var b []byte
		for k := r.Intn(12); k >= 0; k-- {
			b = append(b, pieces[r.Intn(len(pieces))]...)
		}
		if r.Intn(3) == 0 { // often end like a match, to reach the deeper branches
			b = append(b, []string{`,"usage":null}`, ", \"usage\" :\tnull } ", `"usage":null}`, `,"usage"null}`}[r.Intn(4)]...)
		}
		got, want := trailingUsageNull(b), trailingUsageNullForward(b)
		if got != want {
			t.Fatalf("%q: %d, want %d", b, got, want)
		}
		if got >= 0 {
			matched++
		}
	}
	if matched < 10000 {
		t.Errorf("only %d of the events matched: the test does not reach the match", matched)
	}
}
