package xds

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
)

func compiled(t *testing.T, src string) *model.Model {
	t.Helper()
	cfg, err := config.Parse([]byte(src), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return model.Compile(cfg)
}

// TestDeploymentClusterTable: the cluster builder from a compiled
// deployment — its name, endpoint type, TLS, and the outlier detection
// that mirrors the cooldown settings (none with disable_cooldowns or for a
// wildcard group).
func TestDeploymentClusterTable(t *testing.T) {
	for _, tc := range []struct {
		name        string
		src         string
		provider    string
		wantName    func(d *model.Deployment) string
		wantOutlier time.Duration // 0: none
		wantFails   uint32
		wantTLS     bool
		wantFast    bool
	}{
		{
			name:        "router cooldown and allowed_fails",
			src:         "model_list: [{model_name: a, litellm_params: {model: openai/a, api_key: k}}]\nrouter_settings: {cooldown_time: 7, allowed_fails: 4}\n",
			wantName:    func(d *model.Deployment) string { return contract.ClusterName(d.ID) },
			wantOutlier: 7 * time.Second, wantFails: 5, wantTLS: true, wantFast: true,
		},
		{
			name:        "deployment cooldown_time wins",
			src:         "model_list: [{model_name: a, litellm_params: {model: openai/a, api_key: k, cooldown_time: 30}}]\n",
			wantName:    func(d *model.Deployment) string { return contract.ClusterName(d.ID) },
			wantOutlier: 30 * time.Second, wantFails: 4, wantTLS: true, wantFast: true,
		},
		{
			name:     "disable_cooldowns: no outlier detection",
			src:      "model_list: [{model_name: a, litellm_params: {model: openai/a, api_key: k}}]\nrouter_settings: {disable_cooldowns: true}\n",
			wantName: func(d *model.Deployment) string { return contract.ClusterName(d.ID) },
			wantTLS:  true, wantFast: true,
		},
		{
			name:     "wildcard group: no outlier detection, no fast path",
			src:      "model_list: [{model_name: \"anthropic/*\", litellm_params: {model: \"anthropic/*\", api_key: k}}]\n",
			wantName: func(d *model.Deployment) string { return contract.ClusterName(d.ID) },
			wantTLS:  true,
		},
		{
			name:     "model \"*\": one cluster per provider",
			src:      "model_list: [{model_name: \"*\", litellm_params: {model: \"*\"}}]\n",
			provider: "groq",
			wantName: func(d *model.Deployment) string { return contract.ProviderClusterName(d.ID, "groq") },
			wantTLS:  true,
		},
		{
			name:        "plain http to an IP",
			src:         "model_list: [{model_name: a, litellm_params: {model: openai/a, api_key: k, api_base: \"http://127.0.0.1:9/v1\"}}]\n",
			wantName:    func(d *model.Deployment) string { return contract.ClusterName(d.ID) },
			wantOutlier: 5 * time.Second, wantFails: 4, wantFast: true,
		},
		{
			name:        "mock_timeout: no fast path",
			src:         "model_list: [{model_name: a, litellm_params: {model: openai/a, api_key: k, mock_timeout: true}}]\n",
			wantName:    func(d *model.Deployment) string { return contract.ClusterName(d.ID) },
			wantOutlier: 5 * time.Second, wantFails: 4, wantTLS: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := compiled(t, tc.src)
			d := m.Deployments[0]
			c, err := DeploymentCluster(d, tc.provider, m.Routing, Options{ExtProcSocket: "/tmp/x.sock", FastPath: true})
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != tc.wantName(d) || c.LoadAssignment.ClusterName != c.Name {
				t.Errorf("name %q (load assignment %q), want %q", c.Name, c.LoadAssignment.ClusterName, tc.wantName(d))
			}
			od := c.GetOutlierDetection()
			if got := od.GetBaseEjectionTime().AsDuration(); got != tc.wantOutlier || (tc.wantOutlier == 0) != (od == nil) {
				t.Errorf("outlier detection %v, want ejection %v", od, tc.wantOutlier)
			}
			if tc.wantOutlier > 0 && od.GetConsecutive_5Xx().GetValue() != tc.wantFails {
				t.Errorf("consecutive_5xx %d, want %d", od.GetConsecutive_5Xx().GetValue(), tc.wantFails)
			}
			if (c.TransportSocket != nil) != tc.wantTLS {
				t.Errorf("TLS %v, want %v", c.TransportSocket != nil, tc.wantTLS)
			}
			fast := c.GetMetadata().GetFilterMetadata()["llmgate"].GetFields()["fast_path"].GetBoolValue()
			if fast != tc.wantFast || FastPath(d) != tc.wantFast {
				t.Errorf("fast path %v (FastPath %v), want %v", fast, FastPath(d), tc.wantFast)
			}
		})
	}
}

// TestRetryPolicyAndIdleTable: the route's retry policy and idle timeout
// from the router's compiled settings.
func TestRetryPolicyAndIdleTable(t *testing.T) {
	for _, tc := range []struct {
		name         string
		settings     string
		retries      uint32
		perTry, idle time.Duration
	}{
		{"defaults", "", 2, 600 * time.Second, 600 * time.Second},
		{"timeout stands for stream_timeout", "router_settings: {timeout: 20, num_retries: 0}\n", 0, 20 * time.Second, 20 * time.Second},
		{"both", "router_settings: {timeout: 20, stream_timeout: 90, num_retries: 5}\n", 5, 20 * time.Second, 90 * time.Second},
		{"litellm_settings.request_timeout", "litellm_settings: {request_timeout: 45}\n", 2, 45 * time.Second, 45 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := compiled(t, "model_list: [{model_name: a, litellm_params: {model: openai/a, api_key: k}}]\n"+tc.settings)
			rp := RetryPolicy(m.Routing)
			if rp.GetNumRetries().GetValue() != tc.retries || rp.GetPerTryTimeout().AsDuration() != tc.perTry || !rp.RefreshClusterOnRetry {
				t.Errorf("retry policy: retries %d per-try %v, want %d %v", rp.GetNumRetries().GetValue(), rp.GetPerTryTimeout().AsDuration(), tc.retries, tc.perTry)
			}
			if got := streamIdle(m.Routing); got != tc.idle {
				t.Errorf("idle %v, want %v", got, tc.idle)
			}
		})
	}
}

// TestPriorityGroupsTable: the default plan of a group — weighted
// deployments, weight-0 ones in a tier after them, mock deployments left
// out, then each fallback group.
func TestPriorityGroupsTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string // "group:cluster-count"
	}{
		{"equal deployments", `
model_list:
  - {model_name: a, litellm_params: {model: openai/a1, api_key: k}}
  - {model_name: a, litellm_params: {model: openai/a2, api_key: k}}
`, []string{"a:2"}},
		{"weight 0 after the weighted", `
model_list:
  - {model_name: a, litellm_params: {model: openai/a1, api_key: k, weight: 2}}
  - {model_name: a, litellm_params: {model: openai/a2, api_key: k}}
`, []string{"a:1", "a:1"}},
		{"mock left out, fallbacks follow", `
model_list:
  - {model_name: a, litellm_params: {model: openai/a1, api_key: k}}
  - {model_name: a, litellm_params: {model: openai/a2, api_key: k, mock_response: hi}}
  - {model_name: b, litellm_params: {model: openai/b, api_key: k}}
  - {model_name: c, litellm_params: {model: openai/c, api_key: k}}
router_settings: {fallbacks: [{a: [b]}], default_fallbacks: [c]}
`, []string{"a:1", "b:1"}},
		{"default_fallbacks", `
model_list:
  - {model_name: a, litellm_params: {model: openai/a1, api_key: k}}
  - {model_name: c, litellm_params: {model: openai/c, api_key: k}}
router_settings: {default_fallbacks: [c]}
`, []string{"a:1", "c:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			groups := Groups(compiled(t, tc.src))
			all := map[string]ModelGroup{}
			for _, g := range groups {
				all[g.Name] = g
			}
			var got []string
			for _, pg := range PriorityGroups(all["a"], all).PriorityGroups {
				got = append(got, fmt.Sprintf("%s:%d", pg.Name, len(pg.Clusters)))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("priority groups %v, want %v", got, tc.want)
			}
		})
	}
}
