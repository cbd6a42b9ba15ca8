package extproc

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/internal/store/redistest"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/translator"
)

const ticketConfig = "model_list:\n  - model_name: g\n    litellm_params: {model: openai/gpt-4o}\n"

func ticketServer(t *testing.T, st store.Store) (*Server, *State) {
	t.Helper()
	cfg, err := config.Parse([]byte(ticketConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	state := NewState(cfg, st, "v", nil)
	return NewServer(state, slog.New(slog.NewTextHandler(io.Discard, nil))), state
}

// Issue 8 item 3: a ticket is accepted once, for its own call and endpoint.
func TestTicketAcceptedOnceForItsCall(t *testing.T) {
	s, st := ticketServer(t, store.NewMemory(nil))
	chat := route{kind: routeLLM, endpoint: translator.Chat}
	mk := func() string {
		return st.signTicket(fallbackTicket{Kind: 1, Group: "g", CallID: "call-1", Expires: time.Now().Add(time.Minute).Unix(),
			Endpoint: int32(llmgatev1.Endpoint_ENDPOINT_CHAT)})
	}
	h := func(tk, id string) map[string]string {
		return map[string]string{contract.FallbackHeader: tk, "x-request-id": id, ":path": "/v1/chat/completions"}
	}
	tk := mk()
	if s.acceptTicket(st, h(tk, "call-1"), chat) == nil {
		t.Fatal("a fresh ticket for its own call was refused")
	}
	if s.acceptTicket(st, h(tk, "call-1"), chat) != nil {
		t.Error("a ticket was accepted twice (replay)")
	}
	if s.acceptTicket(st, h(mk(), "call-2"), chat) != nil {
		t.Error("a ticket was accepted for another call")
	}
	if s.acceptTicket(st, h(mk(), "call-1"), route{kind: routeLLM, endpoint: translator.Embeddings}) != nil {
		t.Error("a chat ticket was accepted on embeddings")
	}
	pin := st.signTicket(fallbackTicket{Kind: pinKind, Group: "g", Deployment: "d", Expires: time.Now().Add(time.Minute).Unix(),
		Endpoint: int32(llmgatev1.Endpoint_ENDPOINT_CHAT)})
	if s.acceptTicket(st, h(pin, "any"), chat) == nil {
		t.Error("a health pin was refused")
	}
	if s.acceptTicket(st, h(pin, "any"), chat) != nil {
		t.Error("a health pin was accepted twice")
	}
}

// The once holds across replicas that share Redis.
func TestTicketAcceptedOnceAcrossReplicas(t *testing.T) {
	addr, _ := redistest.Start(t)
	var servers []*Server
	var states []*State
	for range 2 {
		rs, err := store.NewRedis(store.RedisOptions{Addr: addr, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rs.Close() })
		s, st := ticketServer(t, rs)
		servers, states = append(servers, s), append(states, st)
	}
	tk := states[0].signTicket(fallbackTicket{Kind: 1, Group: "g", CallID: "c", Expires: time.Now().Add(time.Minute).Unix(), Endpoint: int32(llmgatev1.Endpoint_ENDPOINT_CHAT)})
	h := map[string]string{contract.FallbackHeader: tk, "x-request-id": "c"}
	chat := route{kind: routeLLM, endpoint: translator.Chat}
	if servers[0].acceptTicket(states[0], h, chat) == nil {
		t.Fatal("refused on the first replica")
	}
	if servers[1].acceptTicket(states[1], h, chat) != nil {
		t.Error("the same ticket was accepted again on another replica")
	}
}

// Issue 9 part 3: replicas given the same ticket key (split mode: from the
// routing table) verify each other's tickets; a replica with another key
// refuses them.
func TestTicketKeySharedByReplicas(t *testing.T) {
	key := make([]byte, 32)
	key[0] = 1
	signer, verifier, stranger := &State{}, &State{}, &State{}
	signer.SetTicketKey(key)
	verifier.SetTicketKey(append([]byte{}, key...))
	other := make([]byte, 32)
	other[0] = 2
	stranger.SetTicketKey(other)
	now := time.Now()
	tk := signer.signTicket(fallbackTicket{Kind: 1, Group: "g", CallID: "c", Expires: now.Add(time.Minute).Unix()})
	if verifier.readTicket(tk, now) == nil {
		t.Error("a replica holding the same key refused the ticket")
	}
	if stranger.readTicket(tk, now) != nil {
		t.Error("a replica holding another key accepted the ticket")
	}
}
