package extproc

import "testing"

// TestPyJSONDumps: the schema in LiteLLM's message is Python's json.dumps:
// keys in order, ", " and ": ", non-ASCII and control characters escaped,
// floats as Python prints them.
func TestPyJSONDumps(t *testing.T) {
	for in, want := range map[string]string{
		`{"b":1,"a":[true,null,"x"]}`:        `{"b": 1, "a": [true, null, "x"]}`,
		`{"d":"naïve \"q\" \\ 😀 \u0001"}`:    `{"d": "na\u00efve \"q\" \\ \ud83d\ude00 \u0001"}`,
		`[1.0, 0.5, 1e5, 1e-5, 2E20, -3, 7]`: `[1.0, 0.5, 100000.0, 1e-05, 2e+20, -3, 7]`,
		`{}`:                                 `{}`,
	} {
		if got := pyJSONDumps([]byte(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// TestJSONSchemaMatches: JSON content checked against the schema; content
// that is not JSON never matches.
func TestJSONSchemaMatches(t *testing.T) {
	schema := []byte(`{"type":"object","properties":{"age":{"type":"integer"}},"required":["age"]}`)
	for content, want := range map[string]bool{
		`{"age":3}`:       true,
		`{"age":"3"}`:     false,
		`{}`:              false,
		`not json`:        false,
		`{"age":3,"x":1}`: true,
	} {
		if got := jsonSchemaMatches(schema, content); got != want {
			t.Errorf("%s: %v, want %v", content, got, want)
		}
	}
}
