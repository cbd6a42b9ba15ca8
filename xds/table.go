package xds

import (
	"encoding/json"
	"fmt"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// RoutingTable is what ext_proc replicas need of a config: the routing view
// of every deployment, the resolved config itself and the key that signs
// tickets (secrets: it only travels on the control plane's own gRPC channel).
func RoutingTable(cfg *config.Config, version string, ticketKey []byte) (*llmgatev1.RoutingTable, error) {
	if len(ticketKey) < MinTicketKeyBytes {
		return nil, fmt.Errorf("routing table: ticket key of %d bytes, want at least %d", len(ticketKey), MinTicketKeyBytes)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("routing table: %w", err)
	}
	rt := &llmgatev1.RoutingTable{Name: contract.RoutingTableName, Version: version, ResolvedConfig: b, TicketKey: ticketKey}
	for _, d := range model.Compile(cfg).Deployments {
		rt.Deployments = append(rt.Deployments, &llmgatev1.Deployment{
			Id: d.ID, ModelGroup: d.Group, Provider: d.Provider, Model: d.Model,
			ApiBase: d.APIBase, Cluster: d.Cluster, Wildcard: d.Wildcard,
		})
	}
	return rt, nil
}

// MinTicketKeyBytes is the shortest ticket key a routing table may carry.
const MinTicketKeyBytes = 32

// ConfigFromRoutingTable is the config a routing table carries. A table
// without a ticket key is refused: its replica could not verify the tickets
// the others sign.
func ConfigFromRoutingTable(rt *llmgatev1.RoutingTable) (*config.Config, error) {
	if len(rt.GetTicketKey()) < MinTicketKeyBytes {
		return nil, fmt.Errorf("routing table %s: no ticket key", rt.GetVersion())
	}
	var cfg config.Config
	if err := json.Unmarshal(rt.GetResolvedConfig(), &cfg); err != nil {
		return nil, fmt.Errorf("routing table %s: %w", rt.GetVersion(), err)
	}
	return &cfg, nil
}
