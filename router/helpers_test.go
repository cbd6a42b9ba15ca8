package router

import (
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/store"
)

// dep builds a deployment the way the config loader would.
func dep(id, group, model string) config.Deployment {
	provider, bare := "openai", model
	if i := strings.IndexByte(model, '/'); i > 0 {
		provider, bare = model[:i], model[i+1:]
	}
	return config.Deployment{
		ID: id, ModelName: group, Wildcard: strings.Contains(group, "*"),
		Provider: provider, Model: bare,
		Params: config.LiteLLMParams{Model: model},
	}
}

func baseConfig(ds ...config.Deployment) *config.Config {
	return &config.Config{
		Models: ds,
		Router: config.RouterSettings{
			RoutingStrategy: "simple-shuffle",
			NumRetries:      2,
			AllowedFails:    3,
			CooldownTime:    5 * time.Second,
			MaxFallbacks:    5,
			Timeout:         600 * time.Second,
		},
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 10, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestRouter(cfg *config.Config, clk *fakeClock, seed uint64) *Router {
	return New(cfg, store.NewMemory(clk.Now), WithClock(clk.Now), WithRand(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)))
}

func storeRead() store.ReadOptions { return store.ReadOptions{} }
