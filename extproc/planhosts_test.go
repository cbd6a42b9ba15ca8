package extproc

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/xds"
)

// TestPlanHosts (D86): on a config of more than xds.ManyHostsMin hosts the
// module's answer carries llmgate.ctx "oh", the host of every plan entry
// on the many-host cluster in plan order (the override_host policy takes
// the next per try there); an entry on another cluster adds none; below
// the threshold, and without the module upstream, there is no "oh".
func TestPlanHosts(t *testing.T) {
	cfgOf := func(hosts int) *config.Config {
		var b strings.Builder
		b.WriteString("model_list:\n  - model_name: named\n    litellm_params: {model: openai/gpt-4o-mini, api_base: http://named.test/v1, api_key: k}\n    model_info: {id: named}\n")
		for i := 0; i < hosts; i++ {
			fmt.Fprintf(&b, "  - model_name: g%d\n    litellm_params: {model: openai/gpt-4o-mini, api_base: \"http://10.2.%d.%d:8000/v1\", api_key: k-%d}\n    model_info: {id: m%d}\n", i/2, i/250, 1+i%250, i, i)
		}
		b.WriteString("router_settings: {num_retries: 1, fallbacks: [{g0: [named, g1]}]}\ngeneral_settings: {master_key: sk-master}\n")
		cfg, err := config.Parse([]byte(b.String()), "t.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	body := []byte(`{"model":"g0","messages":[{"role":"user","content":"hi"}]}`)
	hostsOf := func(cfg *config.Config, up bool) (oh string, plan []string) {
		t.Helper()
		m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: up}, log)
		h := moduleHeaders("sk-master")
		h["content-length"] = fmt.Sprint(len(body))
		a, ok := m.Serve(h, body, time.Now())
		if !ok || a.Reply != nil {
			t.Fatalf("not served (%v)", a.Reply)
		}
		for _, md := range a.Metadata {
			if string(md[0]) != contract.ContextMetadataNamespace {
				continue
			}
			s := &structpb.Struct{}
			if err := proto.Unmarshal(md[1], s); err != nil {
				t.Fatal(err)
			}
			oh = s.Fields[contract.OverrideHostsKey].GetStringValue()
			plan = strings.Fields(s.Fields[contract.FastDeploymentsKey].GetStringValue())
		}
		return oh, plan
	}
	addr := map[string]string{"m0": "10.2.0.1:8000", "m1": "10.2.0.2:8000", "m2": "10.2.0.3:8000", "m3": "10.2.0.4:8000"}

	cfg := cfgOf(xds.ManyHostsMin + 1)
	oh, plan := hostsOf(cfg, true)
	var want []string
	for _, id := range plan {
		if id != "named" {
			want = append(want, addr[id])
		}
	}
	// g0's two deployments with a retry each, then named (its own
	// cluster: no host), then g1's.
	if len(plan) < 5 || !slices.Contains(plan, "named") || oh != strings.Join(want, ",") {
		t.Errorf("plan %v: oh %q, want %q", plan, oh, strings.Join(want, ","))
	}
	st := NewState(cfg, nil, "v1", log) // ext_proc mode: no host clusters
	if h := planHosts(st, []*llmgatev1.Attempt{{DeploymentId: "m0"}}); h != "" {
		t.Errorf("ext_proc mode's state has override hosts %q", h)
	}
	if oh, _ := hostsOf(cfg, false); oh != "" {
		t.Errorf("without the module upstream: oh %q", oh)
	}
	if oh, _ := hostsOf(cfgOf(xds.ManyHostsMin), true); oh != "" {
		t.Errorf("at %d hosts: oh %q", xds.ManyHostsMin, oh)
	}
}
