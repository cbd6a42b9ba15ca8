package extproc

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/xds"
)

// setHeader is the value a module answer sets for header k ("" when none).
func setHeader(set [][2]string, k string) string {
	for _, kv := range set {
		if kv[0] == k {
			return kv[1]
		}
	}
	return ""
}

// TestModuleOneClusterPlan (D75): in module-upstream mode a fast plan whose
// every try is on one cluster names it in xds.ClusterHeader and writes no
// llmgate.plan (the cluster route sends every try there); a plan over two
// hosts' clusters, plans that are not fast, and the module without the
// upstream filter keep llmgate.plan and set no cluster header.
func TestModuleOneClusterPlan(t *testing.T) {
	const yaml = `
model_list:
  - model_name: one
    litellm_params: {model: openai/gpt-4o, api_base: http://a.test/x/v1, api_key: sk-1}
  - model_name: one
    litellm_params: {model: openai/gpt-4o, api_base: http://a.test/y/v1, api_key: sk-2}
  - model_name: two
    litellm_params: {model: openai/gpt-4o, api_base: http://a.test/x/v1, api_key: sk-3}
  - model_name: two
    litellm_params: {model: openai/gpt-4o, api_base: http://b.test/y/v1, api_key: sk-4}
  - model_name: solo
    litellm_params: {model: openai/gpt-4o, api_base: http://c.test/v1, api_key: sk-5}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: http://d.test, api_key: sk-6}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: http://d.test, api_key: sk-7}
router_settings:
  num_retries: 2
general_settings:
  master_key: sk-master
`
	cfg, err := config.Parse([]byte(yaml), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	serve := func(m *ModuleFilter, model string) (cluster string, plan bool) {
		t.Helper()
		a, ok := m.Serve(moduleHeaders("sk-master"), []byte(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`), time.Now())
		if !ok || a.Reply != nil {
			t.Fatalf("%s: not served", model)
		}
		for _, md := range a.Metadata {
			if string(md[0]) == contract.PlanMetadataNamespace {
				plan = true
			}
		}
		return setHeader(a.Set, xds.ClusterHeader), plan
	}
	up := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true}, log)
	for _, c := range []struct {
		model, cluster string
	}{
		{"one", "dep_host_a_test_80"}, // two deployments, one host
		{"solo", ""},                  // retries on itself: spaced, not fast (D59)
		{"two", ""},                   // two hosts: the plan picks each try's
		{"claude", ""},                // translated: not fast
	} {
		for range 4 { // the shuffle's orders
			cl, plan := serve(up, c.model)
			if cl != c.cluster || plan != (c.cluster == "") {
				t.Errorf("%s: cluster header %q, llmgate.plan %v; want %q, %v", c.model, cl, plan, c.cluster, c.cluster == "")
			}
		}
	}
	// One try, translated by the module (its request goes on with the
	// client's headers): the plan is kept.
	one, err := config.Parse([]byte(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: http://d.test, api_key: sk-6}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_base: http://a.test/x/v1, api_key: sk-1}
router_settings:
  num_retries: 0
general_settings:
  master_key: sk-master
`), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	upOne := NewModuleFilter(one, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true}, log)
	if cl, plan := serve(upOne, "claude"); cl != "" || !plan {
		t.Errorf("one translated try: cluster header %q, llmgate.plan %v", cl, plan)
	}
	if cl, plan := serve(upOne, "gpt"); cl != "dep_host_a_test_80" || plan {
		t.Errorf("one pass-through try: cluster header %q, llmgate.plan %v", cl, plan)
	}
	noUp := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true}, log)
	if cl, plan := serve(noUp, "one"); cl != "" || !plan {
		t.Errorf("without the upstream filter: cluster header %q, llmgate.plan %v", cl, plan)
	}
}
