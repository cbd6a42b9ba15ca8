package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// KeysResult is the virtual-key figure of issue 11: one llmgate with N keys
// in its store, the same closed loop with the master key and with one of
// the virtual keys (each run alternating, medians of o.Runs).
type KeysResult struct {
	Binary      string // the llmgate binary measured
	Keys        int
	Concurrency int
	Master      LatencyFigure
	Virtual     LatencyFigure
	Generate    time.Duration // issuing the N keys through /key/generate
	// CPU per request of the system under test (llmgate, Envoy), the
	// median over the runs: less sensitive to a shared machine's noise
	// than latency and throughput.
	MasterCPU, VirtualCPU map[string]time.Duration
}

// KeysOverhead measures the request path with nKeys virtual keys in the
// store (keys are read from memory: D33) against the master key, on the
// typical config, at each concurrency (one llmgate per binary, keys issued
// once). With several binaries (bins; default o.LLMGateBin) their llmgates
// run side by side and every run measures all of them in turn, so that a
// before/after comparison shares the machine's state run by run.
func KeysOverhead(o *Options, fakeURL string, nKeys int, concs []int, bins ...string) ([]KeysResult, error) {
	if len(bins) == 0 {
		bins = []string{o.LLMGateBin}
	}
	type side struct {
		bin      string
		gate     *Target
		virtual  Endpoint
		generate time.Duration
		ms, vs   []LoadResult
		mc, vc   map[string][]time.Duration
	}
	var sides []*side
	for i, bin := range bins {
		so := *o
		so.LLMGateBin, so.WorkDir = bin, filepath.Join(o.WorkDir, fmt.Sprintf("keys-%d", i))
		if err := os.MkdirAll(so.WorkDir, 0o700); err != nil {
			return nil, err
		}
		cfgPath := filepath.Join(so.WorkDir, "keys-config.yaml")
		if err := os.WriteFile(cfgPath, []byte(TypicalConfig(fakeURL, "")), 0o600); err != nil {
			return nil, err
		}
		gate, err := StartLLMGate(&so, cfgPath)
		if err != nil {
			return nil, err
		}
		defer gate.Stop()
		master := gate.Endpoint
		key, generate, err := IssueKeys(gate, nKeys)
		gate.Endpoint = master
		if err != nil {
			return nil, err
		}
		virtual := gate.Endpoint
		virtual.Name, virtual.Header = "llmgate-virtual-key", http.Header{"Authorization": {"Bearer " + key}}
		sides = append(sides, &side{bin: bin, gate: gate, virtual: virtual, generate: generate})
	}
	var out []KeysResult
	for _, conc := range concs {
		for _, sd := range sides {
			ClosedLoop(sd.gate.Endpoint, conc, o.Warmup)
			ClosedLoop(sd.virtual, conc, o.Warmup)
			sd.ms, sd.vs, sd.mc, sd.vc = nil, nil, map[string][]time.Duration{}, map[string][]time.Duration{}
		}
		for r := 0; r < o.Runs; r++ {
			for _, sd := range sides {
				master := func() {
					sd.ms = append(sd.ms, cpuPerRequest(sd.gate, sd.mc, func() LoadResult { return ClosedLoop(sd.gate.Endpoint, conc, o.Duration) }))
				}
				virtual := func() {
					sd.vs = append(sd.vs, cpuPerRequest(sd.gate, sd.vc, func() LoadResult { return ClosedLoop(sd.virtual, conc, o.Duration) }))
				}
				// Every other run the virtual key goes first: a fixed order
				// charged the second load what the first left (D76).
				if r%2 == 1 {
					master, virtual = virtual, master
				}
				master()
				virtual()
			}
		}
		for _, sd := range sides {
			out = append(out, KeysResult{Binary: sd.bin, Keys: nKeys, Concurrency: conc, Generate: sd.generate, Master: medianFigure(sd.ms),
				Virtual: medianFigure(sd.vs), MasterCPU: medianCPU(sd.mc), VirtualCPU: medianCPU(sd.vc)})
		}
	}
	return out, nil
}

// medianFigure is the run with the median p50, with its throughput; errors
// are summed over the runs.
func medianFigure(rs []LoadResult) LatencyFigure {
	var f LatencyFigure
	for _, r := range rs {
		f.Errors += r.Errors
		if f.FirstErr == "" {
			f.FirstErr = r.FirstErr
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Quantiles().P50 < rs[j].Quantiles().P50 })
	m := rs[len(rs)/2]
	f.Latency, f.Throughput = m.Quantiles(), m.Throughput()
	return f
}

// cpuPerRequest runs load and adds each part's CPU time per answered
// request to into.
func cpuPerRequest(t *Target, into map[string][]time.Duration, load func() LoadResult) LoadResult {
	before := make([]time.Duration, len(t.Parts))
	for i, p := range t.Parts {
		before[i] = p.Sample().CPU
	}
	r := load()
	n := r.Requests - r.Errors
	if n <= 0 {
		return r
	}
	for i, p := range t.Parts {
		into[p.Name] = append(into[p.Name], (p.Sample().CPU-before[i])/time.Duration(n))
	}
	return r
}

func medianCPU(m map[string][]time.Duration) map[string]time.Duration {
	out := make(map[string]time.Duration, len(m))
	for k, v := range m {
		slices.Sort(v)
		out[k] = v[len(v)/2]
	}
	return out
}

// KeysVariant is the bench's llmgate-keys target: the typical config with
// KeysInStore virtual keys issued through /key/generate, every request sent
// with one of them (the llmgate row is the same config with the master key).
const KeysInStore = 1000

const keysDesc = "the typical config; 1,000 virtual keys issued through /key/generate (model list, max_budget, metadata), every request with one of them (issue 11, D33)"

// IssueKeys issues n virtual keys on a running llmgate (the master key's
// /key/generate), switches t's endpoint to one of them and waits until it
// serves; it returns that key and the time the n keys took.
func IssueKeys(t *Target, n int) (string, time.Duration, error) {
	base := strings.TrimSuffix(t.URL, "/v1/chat/completions")
	start := time.Now()
	var key string
	c := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`{"key_alias":"bench-%d","models":[%q],"max_budget":1000000,"metadata":{"n":%d}%s}`, i, t.Model, i, keyFields())
		req, _ := http.NewRequest(http.MethodPost, base+"/key/generate", bytes.NewReader([]byte(body)))
		req.Header = bearer()
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return "", 0, fmt.Errorf("/key/generate %d: %w", i, err)
		}
		var m map[string]any
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return "", 0, fmt.Errorf("/key/generate %d: status %d %v", i, resp.StatusCode, m)
		}
		if i == n/2 {
			key, _ = m["key"].(string)
		}
	}
	took := time.Since(start)
	t.Endpoint.Header = http.Header{"Authorization": {"Bearer " + key}}
	if err := waitServing(t.Endpoint, t.Proc, 10*time.Second); err != nil {
		return "", 0, err
	}
	return key, took, nil
}

// keysChecks are issue 11's targets: llmgate-keys (a virtual key, 1,000 in
// the store) against llmgate (the same config, the master key), in the same
// runs: ≤ 0.1 ms added p50 at the lowest concurrency, ≤ 5 % throughput lost
// at the highest.
func (r *Report) keysChecks(gate *TargetReport) []Check {
	lo, top := r.lowConc(), r.topConc()
	return r.overheadChecks(r.Target("llmgate-keys"), gate,
		fmt.Sprintf("Virtual key (%d in the store) adds ≤ 0.1 ms p50 at concurrency %d over the master key (issue 11)", KeysInStore, lo),
		fmt.Sprintf("Virtual key (%d in the store) loses ≤ 5%% throughput at concurrency %d against the master key (issue 11)", KeysInStore, top), "", true)
}

func fmtSigned(d time.Duration) string {
	if d < 0 {
		return "−" + fmtDur(-d)
	}
	return "+" + fmtDur(d)
}
