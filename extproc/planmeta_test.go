package extproc

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/store"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// TestPlanGroupCache: the cached priority groups are the ones built per
// request, per index, deployment and provider, past the cached indexes too.
func TestPlanGroupCache(t *testing.T) {
	cfg, err := config.Parse([]byte(benchConfig), "bench.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	st := NewState(cfg, store.NewMemory(nil), "t", slog.New(slog.NewTextHandler(io.Discard, nil)))
	var ids []string
	for _, d := range st.Router.Model().Deployments {
		ids = append(ids, d.ID)
	}
	ids = append(ids, "unknown-deployment")
	for round := 0; round < 2; round++ {
		for i := 0; i < planGroupsCached+3; i++ {
			for _, id := range ids {
				a := &llmgatev1.Attempt{DeploymentId: id}
				got, want := st.planGroups.group(st, i, a), planGroup(st, i, a)
				if !proto.Equal(got, want) {
					t.Fatalf("group(%d, %s) = %v, want %v", i, id, got, want)
				}
			}
		}
	}
	if g := st.planGroups.group(st, 1, &llmgatev1.Attempt{DeploymentId: ids[0]}); g != st.planGroups.group(st, 1, &llmgatev1.Attempt{DeploymentId: ids[0]}) {
		t.Error("a group is built twice")
	}
}

// TestStringValues: the batched values are structpb.NewStringValue's.
func TestStringValues(t *testing.T) {
	in := []string{"a", "", "c"}
	vs := stringValues(in...)
	for i, s := range in {
		if !proto.Equal(&vs[i], structpb.NewStringValue(s)) {
			t.Errorf("%d: %v", i, &vs[i])
		}
	}
}

// TestPlanMetadataShape: the hand-assembled metadata is the Struct
// structpb.NewStruct builds from the same plan.
func TestPlanMetadataShape(t *testing.T) {
	cfg, err := config.Parse([]byte(benchConfig), "bench.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	st := NewState(cfg, store.NewMemory(nil), "t", slog.New(slog.NewTextHandler(io.Discard, nil)))
	var plan []*llmgatev1.Attempt
	var groups []any
	for i, d := range st.Router.Model().Deployments {
		plan = append(plan, &llmgatev1.Attempt{DeploymentId: d.ID})
		groups = append(groups, map[string]any{"name": fmt.Sprintf("attempt%d", i),
			"clusters": []any{map[string]any{"cluster_name": d.ClusterFor(""), "weight": 1.0}}})
	}
	want, err := structpb.NewStruct(map[string]any{
		contract.PlanMetadataNamespace:    map[string]any{"priority_groups": groups},
		contract.ContextMetadataNamespace: map[string]any{"ctx": "encoded"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := planMetadata(st, plan, "encoded")
	if err != nil || !proto.Equal(got, want) {
		t.Errorf("planMetadata = %v, %v; want %v", got, err, want)
	}
}
