package gateway

import (
	"reflect"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/config"
)

// The first step of a reload (D5) pushes the union of old and new
// deployments: the new config's, in its order, then the old ones it dropped
// (retired), each once; every setting is the new config's.
func TestUnionConfig(t *testing.T) {
	dep := func(id, group string) config.Deployment { return config.Deployment{ID: id, ModelName: group} }
	old := &config.Config{Models: []config.Deployment{dep("a", "g"), dep("b", "g"), dep("gone", "x")}}
	old.General.MasterKey = "old-key"
	cur := &config.Config{Models: []config.Deployment{dep("b", "g"), dep("c", "g")}}
	cur.General.MasterKey = "new-key"
	u := unionConfig(old, cur)
	var ids []string
	for _, d := range u.Models {
		ids = append(ids, d.ID)
	}
	if want := []string{"b", "c", "a", "gone"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("union deployments %v, want %v", ids, want)
	}
	if u.General.MasterKey != "new-key" {
		t.Fatalf("union settings come from the old config: master_key %q", u.General.MasterKey)
	}
	if len(cur.Models) != 2 {
		t.Fatalf("the new config was modified: %d deployments", len(cur.Models))
	}
}

// TestKeyRemoved: a reload that drops master_key is refused unless the new
// file allows running without one on purpose (issue 8 item 4).
func TestKeyRemoved(t *testing.T) {
	withKey := func(k string, allow bool) *config.Config {
		c := &config.Config{File: "c.yaml"}
		c.General.MasterKey, c.General.AllowNoMasterKey = k, allow
		return c
	}
	for _, tc := range []struct {
		name    string
		old     *config.Config
		cur     *config.Config
		refused bool
	}{
		{"first load", nil, withKey("", false), false},
		{"no key before", withKey("", false), withKey("", false), false},
		{"key kept", withKey("k", false), withKey("k", false), false},
		{"key rotated", withKey("k", false), withKey("k2", false), false},
		{"key removed", withKey("k", false), withKey("", false), true},
		{"key removed on purpose", withKey("k", false), withKey("", true), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := keyRemoved(tc.old, tc.cur)
			if (msg != "") != tc.refused {
				t.Fatalf("keyRemoved = %q, refused want %v", msg, tc.refused)
			}
			if tc.refused && !strings.Contains(msg, "llmgate_allow_no_master_key") {
				t.Errorf("the refusal does not say how to run without a key: %q", msg)
			}
		})
	}
}
