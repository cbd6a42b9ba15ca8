package extproc

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
)

// TestModuleServesWithCallbacks (D58): with the logging callbacks on
// (prometheus, otel, generic_api, langfuse) the module serves the request
// itself, and the client's valid traceparent reaches the outcome path in
// the request context (the spans' parent); an invalid one does not.
// Session 4's module handed every request to ext_proc under otel.
func TestModuleServesWithCallbacks(t *testing.T) {
	yaml := strings.Replace(moduleTestConfig, "general_settings:",
		"litellm_settings:\n  callbacks: [prometheus, otel, generic_api, langfuse]\ngeneral_settings:", 1)
	env := map[string]string{"GENERIC_LOGGER_ENDPOINT": "http://127.0.0.1:9/log", "LANGFUSE_PUBLIC_KEY": "pk", "LANGFUSE_SECRET_KEY": "sk"}
	cfg, err := config.Parse([]byte(yaml), "t.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, OutcomesActive: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if m.Off() != "" {
		t.Fatalf("module off: %s", m.Off())
	}
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct{ header, want string }{{tp, tp}, {"00-zz-bad", ""}, {"", ""}} {
		h := moduleHeaders("sk-master")
		if tc.header != "" {
			h["traceparent"] = tc.header
		}
		if handOn, reply := m.HandOn(h, len(h), 200, 10); handOn || reply != nil {
			t.Fatalf("traceparent %q: handed on %v, reply %v", tc.header, handOn, reply)
		}
		a, ok := m.Serve(h, []byte(`{"model":"gpt","messages":[]}`), time.Now())
		if !ok || a.Reply != nil {
			t.Fatalf("traceparent %q: served %v, reply %+v", tc.header, ok, a.Reply)
		}
		got := "missing"
		for _, md := range a.Metadata {
			if string(md[0]) != contract.ContextMetadataNamespace {
				continue
			}
			st := &structpb.Struct{}
			if err := proto.Unmarshal(md[1], st); err != nil {
				t.Fatal(err)
			}
			rc, err := decodeContext(st.Fields["ctx"].GetStringValue())
			if err != nil {
				t.Fatal(err)
			}
			got = rc.GetTraceparent()
		}
		if got != tc.want {
			t.Errorf("traceparent %q: the context carries %q, want %q", tc.header, got, tc.want)
		}
	}
}
