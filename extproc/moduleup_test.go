package extproc

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/xds"
)

func encodeContextString(t *testing.T, rc *llmgatev1.RequestContext) string {
	t.Helper()
	s, err := encodeContext(rc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSharedAttemptCluster (D55): the shared attempt filter of module mode
// names no deployment; the try's cluster (the attribute xds.cluster_name)
// does, a `model: "*"` deployment's per-provider cluster with its provider.
func TestSharedAttemptCluster(t *testing.T) {
	cfg, err := config.Parse([]byte(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: http://a.test/v1, api_key: sk-a}
    model_info: {id: ga}
  - model_name: "*"
    litellm_params: {model: "*"}
    model_info: {id: my_star}
`), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := NewServer(NewState(cfg, nil, "v1", log), log)
	st := s.State()
	msg := func(cluster string) *extprocv3.ProcessingRequest {
		return &extprocv3.ProcessingRequest{Attributes: map[string]*structpb.Struct{"envoy.filters.http.ext_proc": {Fields: map[string]*structpb.Value{
			xds.ClusterAttribute: structpb.NewStringValue(cluster),
		}}}}
	}
	for _, tc := range []struct{ cluster, dep, prov string }{
		{"dep_ga", "ga", "openai"},
		{"dep_my_star_anthropic", "my_star", "anthropic"},
		{"dep_gone", "gone", ""},
	} {
		if d, p := s.sharedAttempt(st, "", "", msg(tc.cluster)); d != tc.dep || p != tc.prov {
			t.Errorf("%s → %q %q, want %q %q", tc.cluster, d, p, tc.dep, tc.prov)
		}
	}
	// A cluster's own attempt filter (ext_proc mode) keeps its metadata.
	if d, p := s.sharedAttempt(st, "ga", "", msg("dep_my_star_anthropic")); d != "ga" || p != "" {
		t.Errorf("named stream → %q %q", d, p)
	}

	// An upstream host's cluster (D62): the plan's entry for the try, by
	// x-envoy-attempt-count on a request, by the attempt attribute on a
	// fast try's error response.
	rc := &llmgatev1.RequestContext{Attempts: []*llmgatev1.Attempt{{DeploymentId: "my_star"}, {DeploymentId: "ga"}}}
	ctx := encodeContextString(t, rc)
	host := func(count string, attr float64) *extprocv3.ProcessingRequest {
		m := msg("dep_host_a_test_80")
		m.MetadataContext = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{contract.ContextMetadataNamespace: {Fields: map[string]*structpb.Value{"ctx": structpb.NewStringValue(ctx)}}}}
		if count != "" {
			m.Request = &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: "x-envoy-attempt-count", RawValue: []byte(count)}}}}}
		}
		if attr > 0 {
			m.Attributes["envoy.filters.http.ext_proc"].Fields["upstream.request_attempt_count"] = structpb.NewNumberValue(attr)
		}
		return m
	}
	for _, tc := range []struct {
		m   *extprocv3.ProcessingRequest
		dep string
	}{{host("2", 0), "ga"}, {host("", 2), "ga"}, {host("3", 0), ""}, {host("", 0), ""}} {
		if d, _ := s.sharedAttempt(st, "", "", tc.m); d != tc.dep {
			t.Errorf("host cluster → %q, want %q", d, tc.dep)
		}
	}
	if d, ok := st.tryDeployment("dep_host_a_test_80", rc, 1); !ok || d.ID != "ga" {
		t.Errorf("the outcome log's try 1 on a host cluster → %v", d)
	}
	if planDeployments(rc.Attempts) != "my_star\nga\n" {
		t.Errorf("llmgate.ctx d = %q", planDeployments(rc.Attempts))
	}
}

// TestModuleUpstreamFastPlans (D55): with the module setting every fast
// try's path, host and key, a plan of several fast-path deployments is fast
// in a config above xds.FastPathLuaMax of them (before, only a plan of one
// attempt was: nothing set a later try's path).
func TestModuleUpstreamFastPlans(t *testing.T) {
	var b strings.Builder
	b.WriteString("model_list:\n")
	for i := 0; i <= xds.FastPathLuaMax; i++ {
		fmt.Fprintf(&b, "  - model_name: g%d\n    litellm_params: {model: openai/gpt-4o-mini, api_base: http://m%d.test/v1, api_key: k-%d}\n", i/2, i, i)
	}
	b.WriteString("router_settings: {num_retries: 1}\ngeneral_settings: {master_key: sk-master}\n")
	cfg, err := config.Parse([]byte(b.String()), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	body := []byte(`{"model":"g0","messages":[{"role":"user","content":"hi"}]}`)
	for _, up := range []bool{false, true} {
		m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: up}, log)
		h := moduleHeaders("sk-master")
		h["content-length"] = fmt.Sprint(len(body))
		a, ok := m.Serve(h, body, time.Now())
		if !ok || a.Reply != nil {
			t.Fatalf("upstream %v: not served (%v)", up, a.Reply)
		}
		fast := answerFast(t, a)
		setsPath := false
		for _, kv := range a.Set {
			setsPath = setsPath || kv[0] == ":path"
		}
		if fast != up || setsPath {
			t.Errorf("module upstream %v: a plan of two is fast = %v (path set by the request filter: %v)", up, fast, setsPath)
		}
	}
}

// TestUpcomingDeployments (D62): between the module's switch to a reload's
// config and the ext_proc filter's, the state in force finds the new
// config's deployments (a try the module planned onto one reaches the
// attempt filter); before Upcoming it did not.
func TestUpcomingDeployments(t *testing.T) {
	parse := func(id string) *config.Config {
		cfg, err := config.Parse([]byte(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: http://a.test/v1, api_key: sk-a}
    model_info: {id: `+id+`}
`), "t.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	old, next := NewState(parse("old"), nil, "v1", log), NewState(parse("new"), nil, "v2", log)
	rc := &llmgatev1.RequestContext{Attempts: []*llmgatev1.Attempt{{DeploymentId: "new"}}}
	if _, ok := old.tryDeployment("dep_host_a_test_80", rc, 0); ok {
		t.Fatal("the old state knows the new deployment before Upcoming")
	}
	old.Upcoming(next)
	if d, ok := old.tryDeployment("dep_host_a_test_80", rc, 0); !ok || d.ID != "new" {
		t.Fatal("the old state does not find the upcoming config's deployment")
	}
	if d, ok := old.deployment("old"); !ok || d.ID != "old" {
		t.Fatal("the old state lost its own deployment")
	}
}
