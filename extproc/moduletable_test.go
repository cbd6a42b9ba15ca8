package extproc

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
)

func partsConfig(t testing.TB, n, moved int) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("model_list:\n")
	for i := 0; i < n; i++ {
		suffix := ""
		if i == moved {
			suffix = "-moved"
		}
		fmt.Fprintf(&b, "  - model_name: group-%d\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: http://127.0.0.1:9/d%d%s/v1\n      api_key: sk-%d\n", i/10, i, suffix, i)
	}
	b.WriteString("  - model_name: claude\n    litellm_params:\n      model: anthropic/claude-3-5-sonnet\n      api_key: sk-ant\n")
	// Values that must survive the sparse encoding: pointers to zero
	// values, empty lists and maps, nested defaults.
	b.WriteString("  - model_name: zeros\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: http://127.0.0.1:9/z/v1\n      num_retries: 0\n      max_retries: 0\n      cooldown_time: 0\n      mock_response: \"\"\n      extra_headers: {}\n      temperature: 0\n      drop_params: false\n      metadata: {a: [1, {b: null}], c: \"\"}\n    model_info:\n      input_cost_per_token: 0\n      access_groups: []\n      metadata: {}\n")
	b.WriteString("router_settings:\n  routing_strategy: simple-shuffle\ngeneral_settings:\n  master_key: sk-master\n")
	cfg, err := config.Parse([]byte(b.String()), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestModuleTableParts (D62): the module's config table in parts rebuilds
// exactly the config (as the whole-config JSON did), a change of one
// deployment changes the common part and at most two shards, a push of the
// same config (a cooldown) only the common part, and the module's side
// builds nothing until every shard the common part names has arrived.
func TestModuleTableParts(t *testing.T) {
	key := make([]byte, 32)
	cfg := partsConfig(t, 300, -1)
	var enc ModuleTableEncoder
	parts, gen, err := enc.Encode(cfg, "v1", key, ModuleConfig{Upstream: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != contract.ModuleTableShards+1 || gen != 1 {
		t.Fatalf("%d parts, gen %d", len(parts), gen)
	}
	var a ModuleTableAssembler
	for i := len(parts) - 1; i >= 1; i-- { // shards first: nothing to build yet
		if err := a.Apply(parts[i]); err != nil {
			t.Fatal(err)
		}
		if _, _, ok, err := a.Config(); ok || err != nil {
			t.Fatalf("built without the common part (%v)", err)
		}
	}
	if err := a.Apply(parts[0]); err != nil {
		t.Fatal(err)
	}
	got, c, ok, err := a.Config()
	if !ok || err != nil {
		t.Fatalf("not built: %v", err)
	}
	want, _ := json.Marshal(cfg)
	have, _ := json.Marshal(got)
	if string(want) != string(have) || c.Version != "v1" || !c.Module.Upstream {
		t.Fatalf("the config rebuilt from the parts differs")
	}
	if _, _, ok, _ := a.Config(); ok {
		t.Fatal("built again with nothing new")
	}

	// The same config again (a cooldown): only the common part differs.
	again, _, err := enc.Encode(cfg, "v1", key, ModuleConfig{Upstream: true, Cooling: map[string]int64{"x": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if n := changedParts(parts, again); n != 1 || string(again[0]) == string(parts[0]) {
		t.Fatalf("a cooldown re-sends %d parts", n)
	}

	// One deployment moved: the common part and at most two shards.
	moved := partsConfig(t, 300, 150)
	next, _, err := enc.Encode(moved, "v2", key, ModuleConfig{Upstream: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := changedParts(parts, next); n < 2 || n > 3 {
		t.Fatalf("one deployment moved changes %d parts, want the common part and one or two shards", n)
	}
	for i, p := range next {
		if i == 0 || string(p) != string(parts[i]) {
			if err := a.Apply(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, _, ok, err = a.Config()
	if !ok || err != nil {
		t.Fatalf("not built: %v", err)
	}
	want, _ = json.Marshal(moved)
	have, _ = json.Marshal(got)
	if string(want) != string(have) {
		t.Fatalf("the config rebuilt from a delta differs")
	}

	// A common part naming a shard that has not arrived builds nothing.
	var b ModuleTableAssembler
	_ = b.Apply(next[0])
	for _, p := range next[2:] {
		_ = b.Apply(p)
	}
	if _, _, ok, _ := b.Config(); ok {
		t.Fatal("built with a shard missing")
	}
	if err := b.Apply([]byte(`{"shard":64,"fp":"","models":[]}`)); err == nil {
		t.Fatal("a shard out of range was applied")
	}
	if err := b.Apply([]byte(`{"what":1}`)); err == nil {
		t.Fatal("a part of unknown shape was applied")
	}
}

func changedParts(a, b [][]byte) int {
	n := 0
	for i := range a {
		if string(a[i]) != string(b[i]) {
			n++
		}
	}
	return n
}

// TestSparseJSONEmpty: a shard without deployments is valid JSON.
func TestSparseJSONEmpty(t *testing.T) {
	for _, v := range []any{[]config.Deployment(nil), []config.Deployment{}, config.Deployment{}} {
		b, err := sparseJSON(v)
		if err != nil || !json.Valid(b) {
			t.Errorf("%T: %s %v", v, b, err)
		}
	}
}
