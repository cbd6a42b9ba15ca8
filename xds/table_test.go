package xds

import (
	"bytes"
	"testing"

	"github.com/llmgate/llmgate/config"
)

// Issue 9 part 3: the routing table carries the ticket key to every replica,
// and a table without one is refused (its replica could not verify tickets).
func TestRoutingTableCarriesTicketKey(t *testing.T) {
	cfg, err := config.Parse([]byte("model_list:\n  - model_name: g\n    litellm_params: {model: openai/gpt-4o, api_key: k}\n"), "t.yaml",
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	rt, err := RoutingTable(cfg, "v1", key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rt.GetTicketKey(), key) {
		t.Errorf("ticket key %x, want %x", rt.GetTicketKey(), key)
	}
	got, err := ConfigFromRoutingTable(rt)
	if err != nil || len(got.Models) != 1 || got.Models[0].ModelName != "g" {
		t.Fatalf("config from table: %v %+v", err, got)
	}
	if _, err := RoutingTable(cfg, "v1", nil); err == nil {
		t.Error("a table without a ticket key was built")
	}
	rt.TicketKey = nil
	if _, err := ConfigFromRoutingTable(rt); err == nil {
		t.Error("a table without a ticket key was accepted")
	}
}
