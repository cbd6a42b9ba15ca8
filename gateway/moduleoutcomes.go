package gateway

import (
	"path/filepath"
	"time"
)

// moduleOutcomeDir is where the module copies its outcome records until the
// gateway acknowledges them (docs/architecture.md D63).
func moduleOutcomeDir(o Options) string {
	return filepath.Join(dataDir(o), "module-outcomes")
}

// replayModuleOutcomes reports the records a previous run's module left not
// acknowledged (Envoy died with them), before this run's Envoy starts.
func (g *Gateway) replayModuleOutcomes() {
	n, err := g.ext.ReplayModuleOutcomes(g.module.OutcomeDir, 10*time.Second)
	if err != nil {
		g.log.Warn("module outcome records of the previous run", "error", err.Error())
	}
	if n > 0 {
		g.log.Info("module outcome records of the previous run reported", "records", n)
	}
}
