package extproc

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/llmgate/llmgate/internal/contract"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// The override hosts of a plan (docs/architecture.md D86): on the cluster of
// many upstream hosts (xds.ManyHostsCluster) Envoy's override_host policy
// sends each try to the next host of llmgate.ctx "oh" — the host of every
// plan entry on that cluster, in plan order, comma-separated (a try on any
// other cluster takes none).

// planHosts is llmgate.ctx "oh" of a plan ("" when no entry is on the
// cluster of many hosts).
func planHosts(st *State, plan []*llmgatev1.Attempt) string {
	return string(appendPlanHosts(nil, st, plan))
}

// appendPlanHosts appends the plan's override hosts to b.
func appendPlanHosts(b []byte, st *State, plan []*llmgatev1.Attempt) []byte {
	if !st.Router.Model().ManyHosts {
		return b // (no lookup per entry on every other config)
	}
	n := 0
	for _, a := range plan {
		d := st.compiled(a.DeploymentId)
		if d == nil || d.HostAddress == "" {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, d.HostAddress...)
		n++
	}
	return b
}

// appendPlanHostsField writes llmgate.ctx "oh" when the plan has an entry
// on the cluster of many hosts.
func (r *routed) appendPlanHostsField(b []byte, st *State) []byte {
	var buf [128]byte
	if h := appendPlanHosts(buf[:0], st, r.plan); len(h) > 0 {
		b = appendFieldHead(b, contract.OverrideHostsKey, sizeNested(3, len(h)))
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, h)
	}
	return b
}
