package gateway

import (
	"reflect"
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
