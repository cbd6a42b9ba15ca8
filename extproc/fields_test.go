package extproc

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestReadFieldsAsBefore: the one-scan read answers every body as
// encoding/json followed by checkKeys did: the same fields, the same refusal.
func TestReadFieldsAsBefore(t *testing.T) {
	bodies := []string{
		`{"model":"gpt","messages":[{"role":"user","content":"hi"}],"temperature":0.2}`,
		`{"model":"gpt","stream":true,"stream_options":{"include_usage":true},"user":"u1"}`,
		`{"model":"gpt","stream":false,"fallbacks":["a","b"],"num_retries":3,"timeout":1.5}`,
		`{"model":"gpt","fallbacks":[],"num_retries":null,"timeout":null,"stream":null,"stream_options":null}`,
		`{"model":"gpt","fallbacks":null}`, `{}`, ` { "model" : "a b" , "stream" : true } `,
		`{"model":"g\u00e9","user":"\u00e9"}`, `{"model":"é"}`, `{"model":"a\"b"}`,
		`{"model":123}`, `{"stream":"true"}`, `{"num_retries":1.5}`, `{"timeout":"x"}`, `{"fallbacks":"a"}`,
		`{"stream_options":{"include_usage":"yes"}}`, `{"stream_options":{"INCLUDE_USAGE":true}}`,
		`{"model":"a","model":"b"}`, `{"model":"a","MODEL":"b"}`, `{"Model":"a"}`, `{"mod\u0065l":"a"}`,
		`{"User":"x"}`, `{"user":"a","USER":"b"}`, `{"Max_Fallbacks":1}`, `{"max_fallbacks":1}`, `{"Temperature":1,"temperature":2}`,
		`{"ſtream":true}`, `{"\u017ftream":true}`, `{"model":"a"} x`, `[1]`, `"s"`, ``, `{"model":`, `{"model":"a",}`,
		`{"model":"a","messages":[1,2,{"k":"}"}],"n":-1e3,"x":{"y":[true,false,null]}}`,
		`{"model":"` + "\x01" + `"}`, `{"model":"a","stream":tru}`,
		`{"model":"a","` + strings.Repeat("X", 70) + `":1}`, `{"model":"a","Stream_Options":{}}`, `{"model":"a","NUM_RETRIES":2}`,
	}
	for i := 0; i < 40; i++ {
		bodies = append(bodies, fmt.Sprintf(`{"k%d":1,"model":"m"}`, i))
	}
	many := `{"model":"m"`
	for i := 0; i < 40; i++ {
		many += fmt.Sprintf(`,"k%d":%d`, i, i)
	}
	bodies = append(bodies, many+`}`, many+`,"k3":1}`)
	for _, b := range bodies {
		var want requestFields
		var wantErr string
		if err := json.Unmarshal([]byte(b), &want); err != nil {
			wantErr = "Invalid JSON in request body: " + err.Error()
		} else if e := checkKeys([]byte(b)); e != nil {
			wantErr = e.Message
		}
		var got requestFields
		var gotErr string
		if e := readFields([]byte(b), &got); e != nil {
			gotErr = e.Message
		}
		if gotErr != wantErr {
			t.Errorf("%s: error %q, want %q", b, gotErr, wantErr)
			continue
		}
		if wantErr == "" && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: fields %+v, want %+v", b, got, want)
		}
	}
}
