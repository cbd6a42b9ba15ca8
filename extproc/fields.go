package extproc

import (
	"bytes"
	"encoding/json"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/translator"
)

// readFields decodes the fields the request filter reads and refuses an
// ambiguous body (checkKeys). A clean body (valid JSON, unescaped ASCII
// top-level keys, none repeated, the read fields in lower case and each
// value decoding) is read in one scan; any other body takes
// encoding/json and checkKeys whole, so every answer is theirs.
func readFields(body []byte, f *requestFields) *translator.Error {
	return readFieldsOf(body, f, false)
}

// readFieldsOf is readFields; valid says the body is known to be valid
// JSON (the module's plainBody scanned it: D105), so the scan does not
// check it again.
func readFieldsOf(body []byte, f *requestFields, valid bool) *translator.Error {
	if fastFields(body, f, valid) {
		return nil
	}
	*f = requestFields{}
	if err := json.Unmarshal(body, f); err != nil {
		return translator.NewError(400, "invalid_request_error", "Invalid JSON in request body: "+err.Error(), "")
	}
	if e := checkKeys(body); e != nil {
		return e
	}
	gjson.ParseBytes(body).ForEach(func(k, _ gjson.Result) bool {
		f.clientSide = clientSideTrigger[k.String()]
		return !f.clientSide
	})
	return nil
}

// fieldNames are requestFields' JSON names.
var fieldNames = [...]string{"model", "stream", "stream_options", "fallbacks", "num_retries", "timeout", "user", "tags", "metadata"}

// fastFields is readFields for a clean body; false leaves f to be reset.
func fastFields(body []byte, f *requestFields, valid bool) bool {
	var keys [32][]byte
	n := 0
	ok := scanTopLevelOf(body, valid, func(key []byte, escaped bool, value []byte) bool {
		if escaped || n == len(keys) {
			return false
		}
		upper := false
		for _, c := range key {
			if c >= 0x80 {
				return false // encoding/json folds some non-ASCII letters
			}
			upper = upper || ('A' <= c && c <= 'Z')
		}
		for _, prev := range keys[:n] {
			if bytes.EqualFold(prev, key) {
				return false // a repeated key: checkKeys' refusal
			}
		}
		keys[n] = key
		n++
		if !valid && clientSideTrigger[string(key)] {
			// (D156; valid: the module's plain body, whose keys are none of them)
			f.clientSide = true
		}
		if upper {
			var low [64]byte
			if len(key) > len(low) {
				return true // longer than any field or read key
			}
			l := low[:len(key)]
			for i, c := range key {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				l[i] = c
			}
			if _, read := readKeys[string(l)]; read {
				return false // checkKeys' refusal
			}
			for _, name := range fieldNames {
				if string(l) == name {
					return false // encoding/json would read it; the read fields are lower case
				}
			}
			return true
		}
		for _, name := range fieldNames {
			if string(key) == name {
				return decodeField(f, name, value)
			}
		}
		return true
	})
	return ok
}

// decodeField decodes one field's value as encoding/json would into it.
func decodeField(f *requestFields, name string, v []byte) bool {
	switch name {
	case "model":
		if s, ok := plainString(v); ok {
			f.Model = s
			return true
		}
		return json.Unmarshal(v, &f.Model) == nil
	case "stream":
		switch string(v) {
		case "true":
			f.Stream = true
			return true
		case "false":
			f.Stream = false
			return true
		}
		return json.Unmarshal(v, &f.Stream) == nil
	case "stream_options":
		return json.Unmarshal(v, &f.StreamOptions) == nil
	case "fallbacks":
		return json.Unmarshal(v, &f.Fallbacks) == nil
	case "num_retries":
		return json.Unmarshal(v, &f.NumRetries) == nil
	case "timeout":
		return json.Unmarshal(v, &f.Timeout) == nil
	case "user":
		if s, ok := plainString(v); ok {
			f.User = s
			return true
		}
		return json.Unmarshal(v, &f.User) == nil
	case "tags":
		f.Tags = v
		return true
	case "metadata":
		f.Metadata = v
		return true
	}
	return false
}

// plainString is a JSON string value of printable ASCII without escapes.
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	for _, c := range v[1 : len(v)-1] {
		if c < 0x20 || c >= 0x80 || c == '\\' || c == '"' {
			return "", false
		}
	}
	return string(v[1 : len(v)-1]), true
}
