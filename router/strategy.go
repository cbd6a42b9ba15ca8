package router

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/modelfacts"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/translator"
)

// Routing strategies (router_settings.routing_strategy).
const (
	SimpleShuffle   = model.SimpleShuffle
	LeastBusy       = model.LeastBusy
	UsageBased      = model.UsageBased
	UsageBasedV2    = model.UsageBasedV2
	LatencyBased    = model.LatencyBased
	CostBased       = model.CostBased
	timeoutPenalty  = 1000.0 // latency score of a timed-out call (LiteLLM)
	unknownCostRate = 5.0    // cost per token assumed for a model with no price (sorts last)
)

// candidate is a healthy deployment of a group with its state.
type candidate struct {
	d     *model.Deployment
	t     Target
	st    store.DeploymentState
	score float64 // strategy score, lower is better (latency, cost)
}

// order sorts the healthy deployments of one group by the strategy, without
// replacement: the first is the strategy's pick, the next the pick among the
// rest, and so on.
func (r *Router) order(cs []candidate) []candidate {
	if len(cs) <= 1 {
		return cs
	}
	switch r.m.Routing.Strategy {
	case LeastBusy:
		r.shuffle(cs)
		slices.SortStableFunc(cs, func(a, b candidate) int { return cmp.Compare(a.st.InFlight, b.st.InFlight) })
	case UsageBased, UsageBasedV2:
		r.shuffle(cs)
		// (no reflection's swapper per request, D116)
		slices.SortStableFunc(cs, func(a, b candidate) int { return cmp.Compare(a.st.TPM, b.st.TPM) })
	case LatencyBased:
		for i := range cs {
			cs[i].score = avg(cs[i].st.Latencies)
		}
		cs = r.orderWithinBuffer(cs, r.m.Routing.LatencyBuffer)
	case CostBased:
		for i := range cs {
			cs[i].score = r.costPerToken(cs[i].d.Config, cs[i].t)
		}
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].score < cs[j].score })
	default: // simple-shuffle
		cs = r.weightedOrder(cs)
	}
	return cs
}

func avg(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func (r *Router) shuffle(cs []candidate) {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.rnd.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
}

func (r *Router) intn(n int) int {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	return r.rnd.IntN(n)
}

// orderWithinBuffer repeatedly picks at random among the remaining
// candidates whose score is within buffer (a fraction) of the best.
func (r *Router) orderWithinBuffer(cs []candidate, buffer float64) []candidate {
	rest := append([]candidate(nil), cs...)
	out := make([]candidate, 0, len(cs))
	for len(rest) > 0 {
		best := math.Inf(1)
		for _, c := range rest {
			best = min(best, c.score)
		}
		var near []int
		for i, c := range rest {
			if c.score <= best+best*buffer {
				near = append(near, i)
			}
		}
		k := near[r.intn(len(near))]
		out = append(out, rest[k])
		rest = append(rest[:k], rest[k+1:]...)
	}
	return out
}

// weightedOrder is simple-shuffle: weighted random picks without
// replacement. The weight is litellm_params.weight when the group's
// deployments set it, else rpm, else tpm, else all equal.
func (r *Router) weightedOrder(cs []candidate) []candidate {
	ds := make([]*model.Deployment, len(cs))
	for i, c := range cs {
		ds[i] = c.d
	}
	ws := model.ShuffleWeights(ds)
	if ws == nil {
		r.shuffle(cs)
		return cs
	}
	type weighted struct {
		c candidate
		w float64
	}
	rest := make([]weighted, len(cs))
	for i, c := range cs {
		rest[i] = weighted{c, ws[i]}
	}
	out := make([]candidate, 0, len(cs))
	for len(rest) > 0 {
		total := 0.0
		for _, x := range rest {
			total += x.w
		}
		if total <= 0 { // only unweighted ones left: uniform
			tail := make([]candidate, len(rest))
			for i, x := range rest {
				tail[i] = x.c
			}
			r.shuffle(tail)
			return append(out, tail...)
		}
		x := r.float64() * total
		k := len(rest) - 1
		for i, c := range rest {
			x -= c.w
			if x < 0 {
				k = i
				break
			}
		}
		out = append(out, rest[k].c)
		rest = append(rest[:k], rest[k+1:]...)
	}
	return out
}

// costPerToken is input + output cost per token: model_info first, then the
// built-in model facts.
func (r *Router) costPerToken(d *config.Deployment, t Target) float64 {
	in, out := d.Info.InputCostPerToken, d.Info.OutputCostPerToken
	if in != nil && out != nil {
		return *in + *out
	}
	f, ok := r.lookupFacts(d, t)
	if !ok {
		return 2 * unknownCostRate
	}
	ci, co := f.InputCostPerToken, f.OutputCostPerToken
	if in != nil {
		ci = *in
	}
	if out != nil {
		co = *out
	}
	return ci + co
}

// maxInputTokens is model_info max_input_tokens (or max_tokens), else the
// built-in facts; 0 means unknown.
func (r *Router) maxInputTokens(d *config.Deployment, t Target) int {
	if d.Info.MaxInputTokens > 0 {
		return d.Info.MaxInputTokens
	}
	if d.Info.MaxTokens > 0 {
		return d.Info.MaxTokens
	}
	if f, ok := r.lookupFacts(d, t); ok {
		return f.MaxInputTokens
	}
	return 0
}

// Cost is the cost of one answer in USD (x-litellm-response-cost): prompt
// and completion tokens at the deployment's prices, model_info first, then the
// built-in model facts; the prompt tokens read from or written to the
// provider's prompt cache at their own prices (modelfacts.Rates.Cost). Where the per-token input (output) price is not set
// or 0 and model_info's input_cost_per_second (output_cost_per_second) is,
// the prompt (completion) cost is that price times dur, the try's duration
// (LiteLLM's response_time_ms / 1000). ok is false when no price is known.
func (r *Router) Cost(d *config.Deployment, provider, model string, u translator.Usage, dur time.Duration) (float64, bool) {
	in, out := d.Info.InputCostPerToken, d.Info.OutputCostPerToken
	inSec, outSec := d.Info.InputCostPerSecond, d.Info.OutputCostPerSecond
	var rates modelfacts.Rates
	known := in != nil && out != nil
	if !known {
		f, ok := r.lookupFacts(d, Target{DeploymentID: d.ID, Provider: provider, Model: model})
		if !ok && in == nil && out == nil && inSec == nil && outSec == nil && !unitPriced(&d.Info) {
			return 0, false
		}
		rates = f.Rates()
	}
	if in != nil {
		rates.Input = *in
	}
	if out != nil {
		rates.Output = *out
	}
	if p := d.Info.CacheReadInputTokenCost; p != nil {
		rates.CacheRead = p
	}
	if p := d.Info.CacheCreationInputTokenCost; p != nil {
		rates.CacheCreation = p
	}
	ci, co := rates.Input, rates.Output
	prompt, completion := rates.Cost(u.PromptTokens, u.CachedTokens, u.CacheCreationTokens, u.CompletionTokens)
	if u.Units != (translator.Units{}) {
		return prompt + completion + unitsCost(&d.Info, u), true
	}
	if ci == 0 && inSec != nil {
		prompt = *inSec * dur.Seconds()
	}
	if co == 0 && outSec != nil {
		completion = *outSec * dur.Seconds()
	}
	return prompt + completion, true
}

// unitPriced: mi sets a price of the routes after embeddings.
func unitPriced(mi *config.ModelInfo) bool {
	return mi.OutputCostPerImage != nil || mi.InputCostPerPixel != nil || mi.InputCostPerCharacter != nil || mi.InputCostPerQuery != nil
}

// unitsCost prices what the routes after embeddings count (D130), as
// LiteLLM's cost calculator does: images at output_cost_per_image (else
// input_cost_per_pixel × pixels) unless tokens were priced, a speech
// input's characters, seconds of transcribed audio (output_cost_per_second
// first, as LiteLLM prices whisper), rerank search units.
func unitsCost(mi *config.ModelInfo, u translator.Usage) float64 {
	x := u.Units
	var c float64
	if x.Images > 0 && u.PromptTokens == 0 && u.CompletionTokens == 0 {
		switch {
		case mi.OutputCostPerImage != nil:
			c += *mi.OutputCostPerImage * float64(x.Images)
		case mi.InputCostPerPixel != nil:
			c += *mi.InputCostPerPixel * float64(x.Pixels)
		}
	}
	if x.Characters > 0 && mi.InputCostPerCharacter != nil {
		c += *mi.InputCostPerCharacter * float64(x.Characters)
	}
	if x.AudioSeconds > 0 {
		switch {
		case mi.OutputCostPerSecond != nil && *mi.OutputCostPerSecond > 0:
			c += *mi.OutputCostPerSecond * x.AudioSeconds
		case mi.InputCostPerSecond != nil:
			c += *mi.InputCostPerSecond * x.AudioSeconds
		}
	}
	if x.SearchUnits > 0 && mi.InputCostPerQuery != nil {
		c += *mi.InputCostPerQuery * float64(x.SearchUnits)
	}
	return c
}

// PricedPerSecond reports whether d's cost depends on the try's duration
// (Cost's per-second prices apply): a cost worked out before the answer
// ends cannot be right for it.
func PricedPerSecond(d *config.Deployment) bool {
	return d.Info.InputCostPerSecond != nil || d.Info.OutputCostPerSecond != nil
}
