package xds

import (
	"encoding/json"
	"fmt"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/upstream"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// RoutingTableType is the xDS type URL of the gateway's routing table.
const RoutingTableType = "type.googleapis.com/llmgate.v1.RoutingTable"

// RoutingTableName is the name of the one routing table resource.
const RoutingTableName = "llmgate"

// RoutingTable is what ext_proc replicas need of a config: the routing view
// of every deployment and the resolved config itself (with secrets: it only
// travels on the control plane's own gRPC channel).
func RoutingTable(cfg *config.Config, version string) (*llmgatev1.RoutingTable, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("routing table: %w", err)
	}
	rt := &llmgatev1.RoutingTable{Name: RoutingTableName, Version: version, ResolvedConfig: b}
	for i := range cfg.Models {
		d := &cfg.Models[i]
		rt.Deployments = append(rt.Deployments, &llmgatev1.Deployment{
			Id: d.ID, ModelGroup: d.ModelName, Provider: d.Provider, Model: d.Model,
			ApiBase: upstream.APIBase(d), Cluster: ClusterName(d.ID), Wildcard: d.Wildcard,
		})
	}
	return rt, nil
}

// ConfigFromRoutingTable is the config a routing table carries.
func ConfigFromRoutingTable(rt *llmgatev1.RoutingTable) (*config.Config, error) {
	var cfg config.Config
	if err := json.Unmarshal(rt.GetResolvedConfig(), &cfg); err != nil {
		return nil, fmt.Errorf("routing table %s: %w", rt.GetVersion(), err)
	}
	return &cfg, nil
}
