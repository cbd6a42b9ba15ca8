package main

import (
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestTopLevelString(t *testing.T) {
	cases := []struct {
		body, want string
		ok         bool
	}{
		{`{"model":"gpt"}`, "gpt", true},
		{` { "messages" : [{"model":"nested"}], "model" : "top" } `, "top", true},
		{`{"tools":[{"function":{"parameters":{"model":{"type":"string"}}}}],"model":"m"}`, "m", true},
		{`{"a":"x\"model\":\"no\"","model":"yes"}`, "yes", true},
		{`{"n":1.5e3,"b":true,"z":null,"model":"gpt-4o"}`, "gpt-4o", true},
		{`{"messages":[]}`, "", false},
		{`{"model":42}`, "", false},
		{`{"model":"esc\"aped"}`, "", false}, // caller falls back to encoding/json
		{`[{"model":"x"}]`, "", false},
		{`{"model":"unterminated`, "", false},
		{``, "", false},
	}
	for _, c := range cases {
		got, ok := topLevelString([]byte(c.body), "model")
		if ok != c.ok || string(got) != c.want {
			t.Errorf("%s: got %q %v, want %q %v", c.body, got, ok, c.want, c.ok)
		}
	}
}

// The hand-written Struct encoding must be what protobuf itself decodes as
// the priority_group override.
func TestPlanStruct(t *testing.T) {
	var s structpb.Struct
	if err := proto.Unmarshal(planStruct(make([]byte, 1024), []string{"dep_f", "dep_b"}), &s); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(s.AsMap())
	want := `{"priority_groups":[{"clusters":[{"cluster_name":"dep_f","weight":1}],"name":"attempt0"},{"clusters":[{"cluster_name":"dep_b","weight":1}],"name":"attempt1"}]}`
	if string(got) != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func BenchmarkRouteWork(b *testing.B) {
	body := []byte(`{"model":"gpt","messages":[{"role":"user","content":"hello there, how are you today? xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]}`)
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			topLevelString(body, "model")
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var r struct {
				Model string `json:"model"`
			}
			_ = json.Unmarshal(body, &r)
		}
	})
	b.Run("plan", func(b *testing.B) {
		b.ReportAllocs()
		var pb [1024]byte
		plan := []string{"dep_a", "dep_b"}
		for b.Loop() {
			planStruct(pb[:], plan)
		}
	})
}
