package translator

// The golden-file harness of every translator test: compareGolden (and
// checkGolden for a JSON body) with one -update flag; the table-driven
// cases (goldenCase, runGoldenCases) serve the gemini, vertex_ai, cohere,
// ollama and huggingface tests. Inputs live in testdata/<dir>/<case>.json (or .stream for
// a provider stream); the expected output in testdata/<dir>/<case>.golden.
// `go test ./translator/ -update` rewrites the golden files.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// updateGolden rewrites golden files: go test ./translator/ -update
var updateGolden = flag.Bool("update", false, "rewrite golden files under testdata/")

func goldenUpdating() bool { return *updateGolden }

// checkGolden is compareGolden for a body: JSON is indented first (the
// request, response and stream tests of anthropic and bedrock).
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if json.Valid(got) {
		var b bytes.Buffer
		if err := json.Indent(&b, got, "", "  "); err == nil {
			b.WriteByte('\n')
			got = b.Bytes()
		}
	}
	compareGolden(t, path, got)
}

type goldenKind int

const (
	goldenRequest goldenKind = iota
	goldenResponse
	goldenStream
	goldenError
)

type goldenCase struct {
	name     string
	dir      string
	provider string
	kind     goldenKind
	ep       Endpoint
	target   Target
	status   int               // goldenError: the provider's HTTP status
	headers  map[string]string // goldenError: the provider's headers
}

func pretty(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return append(b, '\n')
}

func rawOrString(b []byte) any {
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	return string(b)
}

func errorView(err error) any {
	var e *Error
	if !errors.As(err, &e) {
		return map[string]any{"go_error": err.Error()}
	}
	return map[string]any{"status": e.Status, "class": int(e.Class), "retry_after": e.RetryAfter.String(), "json": json.RawMessage(e.JSON())}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if goldenUpdating() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("write golden %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (run with -update to create it): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file.\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// feedPieces feeds a stream in the given pieces and returns the output with the
// usage, finish reason and error appended, as compared with the golden file.
func feedPieces(tr Translator, c goldenCase, pieces [][]byte) []byte {
	s := tr.NewStream(c.ep, c.target)
	var out []byte
	var errs []string
	for i, p := range pieces {
		b, err := s.Feed(p, i == len(pieces)-1)
		out = append(out, b...)
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	u, _ := json.Marshal(s.Usage())
	out = fmt.Appendf(out, "# usage: %s\n# finish_reason: %q\n", u, s.FinishReason())
	for _, e := range errs {
		out = fmt.Appendf(out, "# error: %s\n", e)
	}
	return out
}

func runGoldenCases(t *testing.T, cases []goldenCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.dir+"/"+c.name, func(t *testing.T) {
			tr := For(c.provider)
			if tr == nil {
				t.Fatalf("no translator registered for %q", c.provider)
			}
			ext := ".json"
			if c.kind == goldenStream {
				ext = ".stream"
			}
			in, err := os.ReadFile(filepath.Join("testdata", c.dir, c.name+ext))
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.dir, c.name+".golden")
			var got []byte
			switch c.kind {
			case goldenRequest:
				req, err := tr.Request(c.ep, in, c.target)
				if err != nil {
					got = pretty(t, map[string]any{"error": errorView(err)})
					break
				}
				got = pretty(t, map[string]any{"method": req.Method, "path": req.Path, "headers": req.Headers, "body": rawOrString(req.Body)})
			case goldenResponse:
				resp, err := tr.Response(c.ep, in, c.target)
				if err != nil {
					got = pretty(t, map[string]any{"error": errorView(err)})
					break
				}
				if !json.Valid(resp.Body) {
					t.Fatalf("response body is not JSON: %s", resp.Body)
				}
				got = pretty(t, map[string]any{"body": json.RawMessage(resp.Body), "usage": resp.Usage, "finish_reason": resp.FinishReason})
			case goldenError:
				e := tr.Error(c.status, c.headers, in)
				if e == nil {
					t.Fatal("Error returned nil")
				}
				got = pretty(t, errorView(e))
			case goldenStream:
				got = feedPieces(tr, c, [][]byte{in})
				checkSplits(t, tr, c, in, got)
			}
			compareGolden(t, golden, got)
		})
	}
}

// checkSplits feeds the stream split at every byte boundary, and one byte at
// a time, and requires the same output as when it is fed whole.
func checkSplits(t *testing.T, tr Translator, c goldenCase, in, whole []byte) {
	t.Helper()
	for i := 1; i < len(in); i++ {
		got := feedPieces(tr, c, [][]byte{in[:i], in[i:]})
		if !bytes.Equal(got, whole) {
			t.Fatalf("split at byte %d changes the output:\n%s\n--- whole ---\n%s", i, got, whole)
		}
	}
	pieces := make([][]byte, 0, len(in)+1)
	for i := range in {
		pieces = append(pieces, in[i:i+1])
	}
	pieces = append(pieces, nil)
	if got := feedPieces(tr, c, pieces); !bytes.Equal(got, whole) {
		t.Fatalf("byte-at-a-time feed changes the output:\n%s\n--- whole ---\n%s", got, whole)
	}
}

// checkSSE requires translated stream output to be well-formed OpenAI SSE:
// every event a JSON object or [DONE], ending with [DONE].
func checkSSE(t *testing.T, out []byte) {
	t.Helper()
	var p SSEParser
	evs := p.Feed(out, true)
	if len(evs) == 0 || string(evs[len(evs)-1].Data) != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", out)
	}
	for _, ev := range evs[:len(evs)-1] {
		if !json.Valid(ev.Data) {
			t.Fatalf("event is not JSON: %q", ev.Data)
		}
	}
}
