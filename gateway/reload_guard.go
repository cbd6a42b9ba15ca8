package gateway

import (
	"bytes"
	"context"
	"os"
	"time"

	"github.com/llmgate/llmgate/config"
)

// A reload must never read a file that is being written: a half-written
// config can be valid YAML without its general_settings, and so open the
// gateway (issue 8 item 4).

const (
	// reloadDebounce is the quiet time after the last file event.
	reloadDebounce = 100 * time.Millisecond
	// stableGap is how long the file's bytes must stay the same before it
	// is read for a reload; stableLimit bounds the wait for a file that
	// keeps changing.
	stableGap   = 150 * time.Millisecond
	stableLimit = 5 * time.Second
)

// waitStable returns once two reads stableGap apart see the same bytes (or
// after stableLimit, or when ctx ends).
func waitStable(ctx context.Context, path string) {
	deadline := time.Now().Add(stableLimit)
	prev, _ := os.ReadFile(path)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(stableGap):
		}
		cur, err := os.ReadFile(path)
		if err == nil && bytes.Equal(cur, prev) {
			return
		}
		prev = cur
	}
}

// current is the config in force.
func (g *Gateway) current() *config.Config {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cfg
}

// keyRemoved says why a reload from old to cur must be refused: it drops
// the master key without the file saying so on purpose
// (general_settings.llmgate_allow_no_master_key: true). "" when it is fine.
func keyRemoved(old, cur *config.Config) string {
	if old == nil || old.General.MasterKey == "" || cur.General.MasterKey != "" || cur.General.AllowNoMasterKey {
		return ""
	}
	return cur.File + ": general_settings.master_key was removed, which would open the gateway to requests without a key " +
		"(a half-written file?); to run without a key on purpose, set general_settings.llmgate_allow_no_master_key: true"
}
