package xds

import (
	"testing"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	grpcalsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/grpc/v3"
	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/internal/contract"
)

// TestOutcomeLogConfig: with the outcome log on, the router logs every try
// and the HCM every planned request to the access-log cluster, through one
// logger config (one stream per worker: a request's entries stay together),
// the file access log is kept, and the cluster's circuit breakers are the
// ext_proc cluster's (D15). Off, nothing of it is built.
func TestOutcomeLogConfig(t *testing.T) {
	cfg := parseTest(t, testConfig)
	for _, on := range []bool{false, true} {
		res, hcm, rt := buildHCM(t, cfg, Options{ExtProcSocket: "/run/x.sock", AccessLog: true, OutcomeLog: on})
		var als *clusterv3.Cluster
		for _, c := range res.Clusters {
			if c.Name == ALSCluster {
				als = c
			}
		}
		if !on {
			if len(rt.UpstreamLog) != 0 || len(hcm.AccessLog) != 1 || als != nil {
				t.Fatalf("outcome log off: %d upstream logs, %d access logs, cluster %v", len(rt.UpstreamLog), len(hcm.AccessLog), als != nil)
			}
			continue
		}
		if len(rt.UpstreamLog) != 1 || len(hcm.AccessLog) != 2 || hcm.AccessLog[0].Name != "envoy.access_loggers.stdout" {
			t.Fatalf("outcome log on: %d upstream logs, access logs %v", len(rt.UpstreamLog), hcm.AccessLog)
		}
		if rt.GetUpstreamLogOptions().GetFlushUpstreamLogOnUpstreamStream() || rt.GetUpstreamLogOptions().GetUpstreamLogFlushInterval() != nil {
			t.Errorf("per-try log: one entry at each try's end only, got %v", rt.GetUpstreamLogOptions())
		}
		read := func(l *accesslogv3.AccessLog) *grpcalsv3.HttpGrpcAccessLogConfig {
			var c grpcalsv3.HttpGrpcAccessLogConfig
			if err := l.GetTypedConfig().UnmarshalTo(&c); err != nil {
				t.Fatal(err)
			}
			return &c
		}
		try, req := read(rt.UpstreamLog[0]), read(hcm.AccessLog[1])
		if !proto.Equal(try, req) {
			t.Errorf("the two loggers differ (Envoy would open two streams):\n%v\n%v", try, req)
		}
		if c := try.CommonConfig; c.GetGrpcService().GetEnvoyGrpc().GetClusterName() != ALSCluster || c.LogName != OutcomeLogName ||
			c.BufferFlushInterval.AsDuration() != OutcomeLogFlushInterval || c.GrpcStreamRetryPolicy == nil {
			t.Errorf("logger config %v", c)
		}
		if f := hcm.AccessLog[1].GetFilter().GetMetadataFilter().GetMatcher(); f.GetFilter() != contract.ContextMetadataNamespace {
			t.Errorf("the request log must be filtered on llmgate.ctx: %v", hcm.AccessLog[1].GetFilter())
		}
		if als == nil {
			t.Fatal("no access-log cluster")
		}
		var ep *clusterv3.Cluster
		for _, c := range res.Clusters {
			if c.Name == ExtProcCluster {
				ep = c
			}
		}
		if !proto.Equal(als.CircuitBreakers, ep.CircuitBreakers) || !proto.Equal(als.LoadAssignment.Endpoints[0], ep.LoadAssignment.Endpoints[0]) {
			t.Errorf("access-log cluster: breakers %v, endpoints %v", als.CircuitBreakers, als.LoadAssignment)
		}
	}
}

// The outcome log is on exactly when the fast path builds a fast-path
// cluster: their successful tries are reported by nothing else.
func TestOutcomeLogFollowsFastPath(t *testing.T) {
	for _, tc := range []struct {
		name, models string
		fast, want   bool
	}{
		{"openai on the fast path", "  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_base: \"http://127.0.0.1:8000/v1\", api_key: k}\n", true, true},
		{"fast path off (a rendered bootstrap)", "  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_base: \"http://127.0.0.1:8000/v1\", api_key: k}\n", false, false},
		{"only a translated provider", "  - model_name: m\n    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_key: k}\n", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseTest(t, "model_list:\n"+tc.models)
			res, err := Build(cfg, Options{ExtProcSocket: "/run/x.sock", FastPath: tc.fast})
			if err != nil {
				t.Fatal(err)
			}
			got := false
			for _, c := range res.Clusters {
				got = got || c.Name == ALSCluster
			}
			if got != tc.want {
				t.Fatalf("access-log cluster built: %v, want %v", got, tc.want)
			}
		})
	}
}
