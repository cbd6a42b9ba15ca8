package extproc

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/llmgate/llmgate/internal/pyrepr"
	"github.com/llmgate/llmgate/translator"
	"github.com/tidwall/gjson"
)

// litellm_settings.enable_json_schema_validation (D148), as LiteLLM 1.109's
// post_call_processing (utils.py) does it: a chat completion that is not
// streamed and whose request's response_format carries json_schema has its
// first choice's content (when not null) parsed as JSON and validated
// against response_format.json_schema.schema (Python's jsonschema, draft
// 2020-12 unless the schema names its own). A mismatch is raised inside the
// call, so LiteLLM's router treats it as the deployment's failure with
// status 500 (APIResponseValidationError): counted, retried, fallen back
// from; the client's error is
// "litellm.APIResponseValidationError: litellm.JSONSchemaValidationError:
// model=, returned an invalid response=<content>, for schema=<json.dumps
// of the schema>.\nAccess raw response with `e.raw_response`".

// maxSchemaBytes bounds the schema a request may have checked (a client-
// controlled size; Envoy bounds the body, this bounds the work).
const maxSchemaBytes = 256 << 10

// responseSchema is the schema the answer to body is checked against, nil
// when none: the setting off, another endpoint, a stream, or no
// response_format.json_schema.schema object.
func (t *try) responseSchema(body []byte) []byte {
	if t.st == nil || t.st.Cfg == nil || t.ep != translator.Chat || t.rc.Stream || !schemaCheckAsked(t.st.Cfg.LiteLLM.EnableJSONSchemaValidation, body) {
		return nil
	}
	s := gjson.GetBytes(body, "response_format.json_schema.schema")
	if !s.IsObject() && s.Type != gjson.True && s.Type != gjson.False || len(s.Raw) > maxSchemaBytes {
		return nil
	}
	return []byte(s.Raw)
}

// schemaCheckAsked: the request's own enable_json_schema_validation (a
// boolean) wins over the setting, as LiteLLM's per-request param does.
func schemaCheckAsked(setting bool, body []byte) bool {
	switch gjson.GetBytes(body, "enable_json_schema_validation").Type {
	case gjson.True:
		return true
	case gjson.False:
		return false
	}
	return setting
}

// schemaFailure is LiteLLM's error for an answer whose first choice's
// content does not match t.schema; nil when it matches or there is nothing
// to check.
func (t *try) schemaFailure(answer []byte) *translator.Error {
	if t.schema == nil {
		return nil
	}
	c := gjson.GetBytes(answer, "choices.0.message.content")
	if c.Type != gjson.String {
		return nil // no content (a tool call): LiteLLM checks nothing
	}
	if jsonSchemaMatches(t.schema, c.Str) {
		return nil
	}
	msg := "litellm.APIResponseValidationError: litellm.JSONSchemaValidationError: model=, returned an invalid response=" + c.Str +
		", for schema=" + pyJSONDumps(t.schema) + ".\nAccess raw response with `e.raw_response`"
	return &translator.Error{Status: 500, Type: "internal_server_error", Code: "500", Message: msg, Class: translator.ClassForStatus(500)}
}

// jsonSchemaMatches: content is JSON and valid against schema. A schema the
// validator cannot read checks nothing (LiteLLM's jsonschema raises
// SchemaError, which is not a ValidationError: the call fails otherwise,
// a difference kept small by accepting).
func jsonSchemaMatches(schema []byte, content string) bool {
	var v any
	if err := json.Unmarshal([]byte(content), &v); err != nil {
		return false
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(schema, &s); err != nil {
		return true
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		return true
	}
	return rs.Validate(v) == nil
}

// pyJSONDumps is Python's json.dumps of a JSON value: its keys in order,
// ", " and ": " between items, non-ASCII escaped (ensure_ascii).
func pyJSONDumps(raw []byte) string {
	var b bytes.Buffer
	pyDump(&b, gjson.ParseBytes(raw))
	return b.String()
}

func pyDump(b *bytes.Buffer, v gjson.Result) {
	switch {
	case v.IsObject():
		b.WriteByte('{')
		first := true
		v.ForEach(func(k, e gjson.Result) bool {
			if !first {
				b.WriteString(", ")
			}
			first = false
			pyrepr.JSONString(b, k.String())
			b.WriteString(": ")
			pyDump(b, e)
			return true
		})
		b.WriteByte('}')
	case v.IsArray():
		b.WriteByte('[')
		for i, e := range v.Array() {
			if i > 0 {
				b.WriteString(", ")
			}
			pyDump(b, e)
		}
		b.WriteByte(']')
	case v.Type == gjson.String:
		pyrepr.JSONString(b, v.Str)
	case v.Type == gjson.Number:
		b.WriteString(pyNumber(v.Raw))
	default:
		b.WriteString(v.Raw) // true, false, null
	}
}

// pyNumber is how Python prints a JSON number json.loads read: an integer
// as it is, a float as its repr.
func pyNumber(raw string) string {
	if _, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return raw
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return raw
	}
	return pyFloatRepr(f)
}

// pyFloatRepr is Python's repr of a float: the shortest digits, in
// exponent form below 1e-4 or from 1e16, with ".0" on a whole number.
func pyFloatRepr(f float64) string {
	if f == 0 || (abs(f) >= 1e-4 && abs(f) < 1e16) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	return strconv.FormatFloat(f, 'e', -1, 64) // "1e-05", "1e+16": Python's form too
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
