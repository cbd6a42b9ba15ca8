package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ObservedSide is one gateway of an observability comparison: a binary, a
// config (the typical one, or ObservedConfig) and `llmgate run` flags.
type ObservedSide struct {
	Label    string
	Bin      string
	Observed bool
	Args     []string
	// Env are extra environment variables of the observed config
	// (environment_variables), e.g. OTEL_TRACES_SAMPLER.
	Env map[string]string
}

// ObservedResult is one side at one concurrency: the median run and the
// median CPU per request of llmgate and its Envoy.
type ObservedResult struct {
	Side        ObservedSide
	Concurrency int
	Figure      LatencyFigure
	CPU         map[string]time.Duration
	// RunRPS is each run's throughput, in run order (run i of two sides
	// is a pair: measured one after the other).
	RunRPS []float64
}

// ObservedOverhead measures issue 12's cost of observing: every side's
// llmgate runs at once on the same fake provider and export sink, and
// every run measures all of them in turn at each concurrency (so that a
// shared machine's drift hits them alike), closed loop, o.Runs runs of
// o.Duration.
func ObservedOverhead(o *Options, fakeURL string, concs []int, sides []ObservedSide) ([]ObservedResult, error) {
	sink, err := startSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	var gates []*Target
	for i, sd := range sides {
		so := *o
		so.WorkDir = filepath.Join(o.WorkDir, fmt.Sprintf("observed-%d", i))
		if sd.Bin != "" {
			so.LLMGateBin = sd.Bin
		}
		if !sd.Observed || sd.Bin != "" || i != 1 {
			so.PprofAddr = "" // pprof (--llmgate-pprof) on the first observed side only
		}
		if err := os.MkdirAll(so.WorkDir, 0o700); err != nil {
			return nil, err
		}
		yaml := TypicalConfig(fakeURL, "")
		if sd.Observed {
			yaml = ObservedConfigEnv(fakeURL, sink.URL, sd.Env)
		}
		path := filepath.Join(so.WorkDir, "config.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			return nil, err
		}
		gate, err := StartLLMGateAs(&so, path, sd.Label, ModelGroup, sd.Args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sd.Label, err)
		}
		defer gate.Stop()
		gates = append(gates, gate)
	}
	var out []ObservedResult
	for _, f := range interleaved(o, concs, gates) {
		out = append(out, ObservedResult{Side: sides[f.Gate], Concurrency: f.Concurrency, Figure: f.Figure, CPU: f.CPU, RunRPS: f.RunRPS})
	}
	return out, nil
}

// observedChecks are issue 12's targets: llmgate-observed (prometheus,
// otel with every request traced, generic_api) against llmgate (the same
// config without them), in the same runs: ≤ 0.1 ms added p50 at the lowest
// concurrency, ≤ 5 % throughput lost at the highest.
func (r *Report) observedChecks(gate *TargetReport) []Check {
	lo, top := r.lowConc(), r.topConc()
	return r.overheadChecks(r.Target("llmgate-observed"), gate,
		fmt.Sprintf("Observability (metrics, traces of every request, a logging callback) adds ≤ 0.1 ms p50 at concurrency %d (issue 12)", lo),
		fmt.Sprintf("Observability loses ≤ 5%% throughput at concurrency %d (issue 12)", top), "", true)
}
