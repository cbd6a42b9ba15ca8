package gateway

import (
	"bytes"
	"testing"

	"github.com/llmgate/llmgate/config"
)

// Issue 9 part 3: with a master key every process derives the same ticket
// key (not the master key itself); without one a process generates one key
// and keeps it across reloads.
func TestTicketKey(t *testing.T) {
	withMaster := &config.Config{General: config.GeneralSettings{MasterKey: "sk-1"}}
	a, b := (&Gateway{}).ticketKey(withMaster), (&Gateway{}).ticketKey(withMaster)
	if len(a) != 32 || !bytes.Equal(a, b) {
		t.Errorf("derived keys differ across processes: %x %x", a, b)
	}
	if bytes.Contains(a, []byte("sk-1")) {
		t.Error("the ticket key contains the master key")
	}
	other := (&Gateway{}).ticketKey(&config.Config{General: config.GeneralSettings{MasterKey: "sk-2"}})
	if bytes.Equal(a, other) {
		t.Error("two master keys derive the same ticket key")
	}
	g := &Gateway{}
	none := &config.Config{}
	k1, k2 := g.ticketKey(none), g.ticketKey(none)
	if len(k1) != 32 || !bytes.Equal(k1, k2) {
		t.Errorf("a process changed its generated key: %x %x", k1, k2)
	}
	if bytes.Equal(k1, (&Gateway{}).ticketKey(none)) {
		t.Error("two processes generated the same key")
	}
}
