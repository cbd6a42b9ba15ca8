package extproc

import (
	"strconv"
	"sync"

	"google.golang.org/protobuf/types/known/structpb"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// planGroupCache holds the plan metadata's priority groups of a loaded
// config, {name: "attemptN", clusters: [{cluster_name, weight: 1}]}, built
// once per (deployment, provider, index) and shared, read-only, by every
// request's metadata: they were half of the request filter's allocations.
type planGroupCache struct {
	mu sync.RWMutex
	m  map[planGroupKey]*structpb.Value
	// b are the groups serialized (google.protobuf.Value), for the
	// module's metadata written as bytes (routed.go, D65).
	b map[planGroupKey][]byte
}

type planGroupKey struct {
	id, provider string
	index        int
}

// planGroupsCached bounds the cached attempt indexes (a plan's later
// attempts are built per request).
const planGroupsCached = 32

// group is the priority group of plan entry i; the result must not be modified.
func (c *planGroupCache) group(st *State, i int, a *llmgatev1.Attempt) *structpb.Value {
	if i >= planGroupsCached {
		return planGroup(st, i, a)
	}
	k := planGroupKey{a.DeploymentId, a.Provider, i}
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = planGroup(st, i, a)
	c.mu.Lock()
	if c.m == nil {
		c.m = map[planGroupKey]*structpb.Value{}
	}
	c.m[k] = v
	c.mu.Unlock()
	return v
}

// groupBytes is group(st, i, a) serialized; the result must not be modified.
func (c *planGroupCache) groupBytes(st *State, i int, a *llmgatev1.Attempt) []byte {
	if i >= planGroupsCached {
		return appendValue(nil, planGroup(st, i, a))
	}
	k := planGroupKey{a.DeploymentId, a.Provider, i}
	c.mu.RLock()
	v, ok := c.b[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = appendValue(nil, planGroup(st, i, a))
	c.mu.Lock()
	if c.b == nil {
		c.b = map[planGroupKey][]byte{}
	}
	c.b[k] = v
	c.mu.Unlock()
	return v
}

func planGroup(st *State, i int, a *llmgatev1.Attempt) *structpb.Value {
	return clusterGroup(i, planCluster(st, a.DeploymentId, a.Provider))
}

// clusterGroup is the priority group of attempt i on one cluster.
func clusterGroup(i int, cluster string) *structpb.Value {
	c := &structpb.Struct{Fields: map[string]*structpb.Value{"cluster_name": structpb.NewStringValue(cluster), "weight": structpb.NewNumberValue(1)}}
	return structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
		"name":     structpb.NewStringValue("attempt" + strconv.Itoa(i)),
		"clusters": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewStructValue(c)}}),
	}})
}

// stringValues are structpb string values of ss in two allocations
// (structpb.NewStringValue takes two per value).
func stringValues(ss ...string) []structpb.Value {
	vs := make([]structpb.Value, len(ss))
	ws := make([]structpb.Value_StringValue, len(ss))
	for i, s := range ss {
		ws[i].StringValue = s
		vs[i].Kind = &ws[i]
	}
	return vs
}
