package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"

	"github.com/llmgate/llmgate/config"
)

// ticketKeyLabel separates the ticket key derived from the master key from
// any other use of that key.
const ticketKeyLabel = "llmgate fallback ticket signing key v1"

// ticketKey is the key that signs and verifies fallback and health-pin
// tickets. With general_settings.master_key it is derived from the master
// key, so every process reading the same config (several control planes,
// or `llmgate extproc` replicas reading the file themselves) holds the same
// key; without one it is generated once per process. Split-mode replicas
// take the control plane's key from the routing table. A secret: it is never
// logged.
func (g *Gateway) ticketKey(cfg *config.Config) []byte {
	if cfg.General.MasterKey != "" {
		m := hmac.New(sha256.New, []byte(cfg.General.MasterKey))
		m.Write([]byte(ticketKeyLabel))
		return m.Sum(nil)
	}
	g.genKeyOnce.Do(func() {
		g.genKey = make([]byte, 32)
		if _, err := rand.Read(g.genKey); err != nil {
			panic(err)
		}
	})
	return g.genKey
}

// ticketKeyState holds the generated ticket key of a Gateway.
type ticketKeyState struct {
	genKeyOnce sync.Once
	genKey     []byte
}
