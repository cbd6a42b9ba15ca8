package extproc

import (
	"encoding/json"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// SetDraining makes /health/readiness answer 503 while the gateway shuts
// down, so load balancers stop sending it new requests; everything else is
// still served until Envoy stops.
func (s *Server) SetDraining(v bool) { s.draining.Store(v) }

// startingReply is readiness until the module applied the gateway's first
// config (Server.StartupReady).
func startingReply(st *State) *extprocv3.ProcessingResponse {
	b, _ := json.Marshal(map[string]any{"status": "starting", "llmgate_config_version": st.Version})
	return immediate(503, "application/json", b, nil, "llmgate_health")
}

// drainingReply is readiness while draining.
func drainingReply(st *State) *extprocv3.ProcessingResponse {
	b, _ := json.Marshal(map[string]any{"status": "draining", "llmgate_config_version": st.Version})
	return immediate(503, "application/json", b, nil, "llmgate_health")
}
