package router

import (
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/modelfacts"
	"github.com/llmgate/llmgate/internal/store"
)

// Router is the routing model for one loaded config. It is safe for
// concurrent use; build a new one when the config changes.
type Router struct {
	m     *model.Model
	store store.Store
	now   func() time.Time
	log   *slog.Logger
	facts func(provider, model string) (modelfacts.Facts, bool)
	// readOpt is what a plan reads of the store beyond the counters.
	readOpt store.ReadOptions
	pins    *Pins // stored pins (pins.go, D179)

	rmu sync.Mutex
	rnd *rand.Rand
}

// Option configures a Router.
type Option func(*Router)

// WithClock sets the clock (default time.Now). Use the same clock for the store.
func WithClock(now func() time.Time) Option { return func(r *Router) { r.now = now } }

// WithRand sets the random source (default: seeded from the OS).
func WithRand(src rand.Source) Option { return func(r *Router) { r.rnd = rand.New(src) } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(r *Router) { r.log = l } }

// WithFacts replaces the built-in model facts lookup (tests).
func WithFacts(f func(provider, model string) (modelfacts.Facts, bool)) Option {
	return func(r *Router) { r.facts = f }
}

// New builds a Router for cfg (compiled by model.Compile). A nil store
// means a fresh in-memory store.
func New(cfg *config.Config, st store.Store, opts ...Option) *Router {
	return NewFromModel(model.Compile(cfg), st, opts...)
}

// NewFromModel builds a Router for a compiled config.
func NewFromModel(m *model.Model, st store.Store, opts ...Option) *Router {
	r := &Router{
		m:     m,
		store: st,
		now:   time.Now,
		log:   slog.Default(),
		facts: modelfacts.Lookup,
		rnd:   rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	for _, o := range opts {
		o(r)
	}
	if r.store == nil {
		r.store = store.NewMemory(r.now)
	}
	r.readOpt = store.ReadOptions{Latencies: m.Track.Latencies, IO: m.Routing.IOLimits}
	if m.Routing.DailyLimits {
		r.readOpt.DayStart = m.DayStart
	}
	if r.pins == nil {
		r.pins = NewPins(r.now)
	}
	return r
}

// Model is the compiled config the router routes by.
func (r *Router) Model() *model.Model { return r.m }

// Store returns the store the router uses.
func (r *Router) Store() store.Store { return r.store }

func (r *Router) float64() float64 {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	return r.rnd.Float64()
}

func (r *Router) lookupFacts(d *config.Deployment, t Target) (modelfacts.Facts, bool) {
	if r.facts == nil {
		return modelfacts.Facts{}, false
	}
	if d.Info.BaseModel != "" {
		if f, ok := r.facts(t.Provider, d.Info.BaseModel); ok {
			return f, true
		}
	}
	return r.facts(t.Provider, t.Model)
}
