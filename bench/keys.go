package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// KeysResult is the virtual-key figure of issue 11: one llmgate with N keys
// in its store, the same closed loop with the master key and with one of
// the virtual keys (each run alternating, medians of o.Runs).
type KeysResult struct {
	Keys        int
	Concurrency int
	Master      LatencyFigure
	Virtual     LatencyFigure
	Generate    time.Duration // issuing the N keys through /key/generate
}

// KeysOverhead measures the request path with nKeys virtual keys in the
// store (keys are read from memory: D33) against the master key, on the
// typical config, at each concurrency (one llmgate, keys issued once).
func KeysOverhead(o *Options, fakeURL string, nKeys int, concs []int) ([]KeysResult, error) {
	var out []KeysResult
	cfgPath := filepath.Join(o.WorkDir, "keys-config.yaml")
	if err := os.WriteFile(cfgPath, []byte(TypicalConfig(fakeURL, "")), 0o600); err != nil {
		return nil, err
	}
	gate, err := StartLLMGate(o, cfgPath)
	if err != nil {
		return nil, err
	}
	defer gate.Stop()
	base := strings.TrimSuffix(gate.URL, "/v1/chat/completions")
	start := time.Now()
	var key string
	c := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < nKeys; i++ {
		body := fmt.Sprintf(`{"key_alias":"bench-%d","models":[%q],"max_budget":1000000,"metadata":{"n":%d}}`, i, ModelGroup, i)
		req, _ := http.NewRequest(http.MethodPost, base+"/key/generate", bytes.NewReader([]byte(body)))
		req.Header = bearer()
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return nil, fmt.Errorf("/key/generate %d: %w", i, err)
		}
		var m map[string]any
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("/key/generate %d: status %d %v", i, resp.StatusCode, m)
		}
		if i == nKeys/2 {
			key, _ = m["key"].(string)
		}
	}
	generate := time.Since(start)
	virtual := gate.Endpoint
	virtual.Name, virtual.Header = "llmgate-virtual-key", http.Header{"Authorization": {"Bearer " + key}}
	if err := waitServing(virtual, gate.Proc, 10*time.Second); err != nil {
		return nil, err
	}
	for _, conc := range concs {
		ClosedLoop(gate.Endpoint, conc, o.Warmup)
		ClosedLoop(virtual, conc, o.Warmup)
		var ms, vs []LoadResult
		for r := 0; r < o.Runs; r++ {
			ms = append(ms, ClosedLoop(gate.Endpoint, conc, o.Duration))
			vs = append(vs, ClosedLoop(virtual, conc, o.Duration))
		}
		out = append(out, KeysResult{Keys: nKeys, Concurrency: conc, Generate: generate, Master: medianFigure(ms), Virtual: medianFigure(vs)})
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
