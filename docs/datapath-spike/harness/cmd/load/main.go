// Tiny closed-loop load client: -c workers, each with its own kept-alive
// HTTP/1.1 connection, for -n requests in total or -d duration; prints
// p50/p90/p99, rps and errors. Several targets are measured interleaved
// (round-robin, -rounds times) so drift hits all alike.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	lat  []time.Duration
	errs int64
	dur  time.Duration
	cpu  map[string]float64 // seconds of utime+stime per process
}

// cpuOf returns utime+stime in seconds of a pid (/proc/pid/stat, 100 Hz ticks).
func cpuOf(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	var u, st float64
	fmt.Sscan(f[11], &u)
	fmt.Sscan(f[12], &st)
	return (u + st) / 100
}

func run(url string, body []byte, hdrs map[string]string, c, n int, d time.Duration, stream bool) result {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []time.Duration
	var errs, left atomic.Int64
	left.Store(int64(n))
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DialContext: (&net.Dialer{}).DialContext, DisableCompression: true}
			cl := &http.Client{Transport: tr}
			var mine []time.Duration
			for {
				if n > 0 {
					if left.Add(-1) < 0 {
						break
					}
				} else if time.Now().After(deadline) {
					break
				}
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				for k, v := range hdrs {
					req.Header.Set(k, v)
				}
				t0 := time.Now()
				resp, err := cl.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				el := time.Since(t0)
				if resp.StatusCode != 200 {
					errs.Add(1)
					if errs.Load() < 3 {
						fmt.Fprintf(os.Stderr, "status %d from %s\n", resp.StatusCode, url)
					}
				}
				mine = append(mine, el)
			}
			tr.CloseIdleConnections()
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return result{lat: all, errs: errs.Load(), dur: time.Since(start)}
}

func pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(float64(len(l)-1) * p)
	return l[i]
}

func main() {
	targets := flag.String("t", "plain=http://127.0.0.1:27100/v1/chat/completions", "name=url,...")
	c := flag.Int("c", 1, "concurrency")
	n := flag.Int("n", 0, "requests per target per round (0: use -d)")
	d := flag.Duration("d", 2*time.Second, "duration per target per round")
	rounds := flag.Int("rounds", 1, "interleaved rounds")
	stream := flag.Bool("stream", false, "stream:true in the body")
	pids := flag.String("pids", "", "name=pid,... processes whose CPU is reported per 1000 requests")
	flag.Parse()
	procs := map[string]string{}
	var pnames []string
	for _, p := range strings.Split(*pids, ",") {
		if k, v, ok := strings.Cut(p, "="); ok {
			procs[k] = v
			pnames = append(pnames, k)
		}
	}
	body := []byte(`{"model":"gpt","messages":[{"role":"user","content":"hello there, how are you today? ` + strings.Repeat("x", 200) + `"}]}`)
	if *stream {
		body = []byte(`{"model":"gpt","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	}
	hdrs := map[string]string{"authorization": "Bearer sk-good", "content-type": "application/json"}
	type tgt struct{ name, url string }
	var ts []tgt
	for _, t := range strings.Split(*targets, ",") {
		k, v, _ := strings.Cut(t, "=")
		ts = append(ts, tgt{k, v})
	}
	res := map[string]*result{}
	// warm-up
	for _, t := range ts {
		run(t.url, body, hdrs, *c, 50, 0, *stream)
	}
	for r := 0; r < *rounds; r++ {
		for _, t := range ts {
			before := map[string]float64{}
			for k, v := range procs {
				before[k] = cpuOf(v)
			}
			x := run(t.url, body, hdrs, *c, *n, *d, *stream)
			acc := res[t.name]
			if acc == nil {
				acc = &result{cpu: map[string]float64{}}
				res[t.name] = acc
			}
			for k, v := range procs {
				acc.cpu[k] += cpuOf(v) - before[k]
			}
			acc.lat = append(acc.lat, x.lat...)
			acc.errs += x.errs
			acc.dur += x.dur
		}
	}
	fmt.Printf("| target | c | requests | p50 | p90 | p99 | rps | errors |")
	for _, k := range pnames {
		fmt.Printf(" %s CPU ms/1k req |", k)
	}
	fmt.Printf("\n|---|---:|---:|---:|---:|---:|---:|---:|%s\n", strings.Repeat("---:|", len(pnames)))
	for _, t := range ts {
		x := res[t.name]
		sort.Slice(x.lat, func(i, j int) bool { return x.lat[i] < x.lat[j] })
		fmt.Printf("| %s | %d | %d | %v | %v | %v | %.0f | %d |", t.name, *c, len(x.lat),
			pct(x.lat, .5).Round(time.Microsecond), pct(x.lat, .9).Round(time.Microsecond), pct(x.lat, .99).Round(time.Microsecond),
			float64(len(x.lat))/x.dur.Seconds(), x.errs)
		for _, k := range pnames {
			fmt.Printf(" %.0f |", x.cpu[k]*1000/float64(len(x.lat))*1000)
		}
		fmt.Println()
	}
}
