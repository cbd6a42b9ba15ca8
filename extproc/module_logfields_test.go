package extproc

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
)

// TestModuleOmitLogFields (D105): without an access log the module leaves
// llmgate.ctx's "model" and "path" (read by the access log only) out of the
// Struct Envoy parses for every request it serves; everything else in it is
// as with them, and with an access log they are there.
func TestModuleOmitLogFields(t *testing.T) {
	cfg, err := config.Parse([]byte(typicalModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	ctxOf := func(omit bool) map[string]*structpb.Value {
		t.Helper()
		m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		m.OmitLogFields(omit)
		a, ok := m.Serve(moduleHeaders("sk-master"), []byte(`{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`), time.Now())
		if !ok || a.Resp == nil {
			t.Fatal("not served on the fast path")
		}
		for _, md := range a.Metadata {
			if string(md[0]) != contract.ContextMetadataNamespace {
				continue
			}
			var s structpb.Struct
			if err := proto.Unmarshal(md[1], &s); err != nil {
				t.Fatal(err)
			}
			return s.GetFields()
		}
		t.Fatal("no llmgate.ctx")
		return nil
	}
	with, without := ctxOf(false), ctxOf(true)
	if with["model"].GetStringValue() != "gpt" || with["path"].GetStringValue() != "/v1/chat/completions" {
		t.Errorf("with the access log: model %v, path %v", with["model"], with["path"])
	}
	if _, ok := without["model"]; ok {
		t.Errorf("without the access log: model %v written", without["model"])
	}
	if _, ok := without["path"]; ok {
		t.Errorf("without the access log: path %v written", without["path"])
	}
	if len(without) != len(with)-2 {
		t.Errorf("fields %d without the access log, %d with it: want two fewer", len(without), len(with))
	}
	for k, v := range without {
		if _, ok := with[k]; !ok {
			t.Errorf("%s written only without the access log", k)
		}
		if k == "ctx" || k == contract.FastDeploymentsKey || k == contract.OverrideHostsKey {
			continue // (the context's call id, the shuffled plan's order)
		}
		if !proto.Equal(v, with[k]) {
			t.Errorf("%s: %v without the access log, %v with it", k, v, with[k])
		}
	}
}
