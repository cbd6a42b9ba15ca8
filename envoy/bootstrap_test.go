package envoy

import (
	"testing"
)

func TestBootstrap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       BootstrapOptions
		wantErr bool
	}{
		{"unix socket", BootstrapOptions{XDSSocket: "/run/llmgate/xds.sock"}, false},
		{"tcp", BootstrapOptions{XDSHost: "10.0.0.1", XDSPort: 18000, AdminPort: 9901}, false},
		{"no control plane", BootstrapOptions{}, true},
		{"large config", BootstrapOptions{XDSSocket: "/x.sock", NoDeploymentStats: true}, false},
		{"admin on a unix socket", BootstrapOptions{XDSSocket: "/x.sock", AdminSocket: "/private/admin.sock"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Bootstrap(tc.o)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if err != nil {
				return
			}
			if err := b.ValidateAll(); err != nil {
				t.Fatalf("Envoy's validation: %v", err)
			}
			if tc.o.AdminSocket != "" {
				if p := b.GetAdmin().GetAddress().GetPipe(); p.GetPath() != tc.o.AdminSocket || p.GetMode() != 0o600 {
					t.Errorf("admin must be the private unix socket (0600), got %v", b.GetAdmin().GetAddress())
				}
			} else if b.GetAdmin().GetAddress().GetSocketAddress().GetAddress() != "127.0.0.1" {
				t.Errorf("admin must stay on loopback")
			}
			if b.GetDynamicResources().GetAdsConfig() == nil || len(b.GetStaticResources().GetClusters()) != 1 {
				t.Errorf("ADS and the control-plane cluster are required")
			}
			excluded := b.GetStatsConfig().GetStatsMatcher().GetExclusionList().GetPatterns()
			if tc.o.NoDeploymentStats != (len(excluded) == 1 && excluded[0].GetPrefix() == "cluster.dep_") {
				t.Errorf("deployment stats exclusion = %v", excluded)
			}
		})
	}
}

func TestFindBinaryHonoursEnvoyBin(t *testing.T) {
	t.Setenv("ENVOY_BIN", "/nonexistent/envoy")
	if _, err := FindBinary(); err == nil {
		t.Fatal("a missing $ENVOY_BIN must be an error, not a silent fallback")
	}
}
