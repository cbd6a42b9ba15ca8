package xds

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/llmgate/llmgate/config"
)

// TestFastPathResources (D45): OpenAI-compatible and Azure deployments get
// fast-path clusters whose keys travel only as SDS secrets; translated,
// wildcard and mock deployments keep the attempt filter; without the option
// nothing changes.
func TestFastPathResources(t *testing.T) {
	cfg, err := config.Parse([]byte(testConfig), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(cfg, Options{ExtProcSocket: "/tmp/x.sock", FastPath: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r.Secrets {
		names = append(names, s.Name)
	}
	// eu and us (azure, keys k1, k2) are fast; local (openai, no key) is fast without a secret.
	if got := strings.Join(names, ","); got != "llmgate_key_dep_eu,llmgate_key_dep_us" {
		t.Errorf("secrets = %s", got)
	}
	fast := map[string]bool{}
	for _, c := range r.Clusters {
		b, err := protojson.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, k := range []string{`"k1"`, `"k2"`, `"k3"`} {
			if strings.Contains(s, k) {
				t.Errorf("cluster %s carries key %s", c.Name, k)
			}
		}
		fast[c.Name] = c.GetMetadata().GetFilterMetadata()["llmgate"].GetFields()["fast_path"].GetBoolValue()
		if fast[c.Name] != strings.Contains(s, "credential_injector") && c.Name != "dep_local" {
			t.Errorf("cluster %s: fast %v but credential injector %v", c.Name, fast[c.Name], strings.Contains(s, "credential_injector"))
		}
	}
	for name, want := range map[string]bool{"dep_eu": true, "dep_us": true, "dep_local": true, "dep_claude": false, "dep_star_openai": false} {
		if fast[name] != want {
			t.Errorf("%s fast path = %v, want %v", name, fast[name], want)
		}
	}
	plain, err := Build(cfg, Options{ExtProcSocket: "/tmp/x.sock"})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Secrets) != 0 || strings.Contains(protojson.Format(plain.Clusters[1]), "composite") {
		t.Errorf("without FastPath the resources changed")
	}
}
