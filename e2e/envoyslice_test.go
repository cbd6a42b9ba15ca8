package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestEnvoySlice (D94): llmgate starts its Envoy on a 100 µs scheduler
// slice — every Envoy thread, its workers and the module's Go threads
// created later included — so that a worker woken by a request takes its
// CPU from the gateway's background work at once; the gateway's own threads
// keep the kernel's default; LLMGATE_ENVOY_SLICE=0 leaves Envoy on the
// default too.
func TestEnvoySlice(t *testing.T) {
	requireCustomSlices(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, moduleConfig(fake.URL(), ""), moduleArgs)
	waitLog(t, g, "llmgate module: config")
	if code, _, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("gpt", "hi")); code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	envoy := threadSlices(t, envoyProc(t, g.cmd.Process.Pid))
	workers := 0
	for name, s := range envoy {
		if s != "100000" {
			t.Errorf("Envoy thread %s: slice %s ns, want 100000", name, s)
		}
		if strings.Contains(name, "wrk:") {
			workers++
		}
	}
	if workers == 0 || len(envoy) < 5 {
		t.Errorf("Envoy's threads: %v, want its workers and the module's threads among them", envoy)
	}
	for name, s := range threadSlices(t, filepath.Join("/proc", strconv.Itoa(g.cmd.Process.Pid))) {
		if s == "100000" {
			t.Errorf("llmgate's thread %s runs on Envoy's slice", name)
		}
	}

	off := startGatewayArgs(t, moduleConfig(fake.URL(), ""), moduleArgs, "LLMGATE_ENVOY_SLICE=0")
	waitLog(t, off, "llmgate module: config")
	for name, s := range threadSlices(t, envoyProc(t, off.cmd.Process.Pid)) {
		if s == "100000" {
			t.Errorf("LLMGATE_ENVOY_SLICE=0: Envoy thread %s on a 100 µs slice", name)
		}
	}
}

// threadSlices is every thread of the process at dir, by "tid comm", with
// its slice (se.slice of its sched file, in ns).
func threadSlices(t *testing.T, dir string) map[string]string {
	t.Helper()
	tasks, err := filepath.Glob(filepath.Join(dir, "task", "*"))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %s: %v", dir, err)
	}
	out := map[string]string{}
	for _, task := range tasks {
		sched, err := os.ReadFile(filepath.Join(task, "sched"))
		if err != nil {
			continue // ended meanwhile
		}
		comm, _ := os.ReadFile(filepath.Join(task, "comm"))
		name := filepath.Base(task) + " " + strings.TrimSpace(string(comm))
		for _, line := range strings.Split(string(sched), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "se.slice" {
				out[name] = strings.TrimSpace(v)
			}
		}
		if _, ok := out[name]; !ok {
			t.Fatalf("%s/sched has no se.slice", task)
		}
	}
	return out
}

// requireCustomSlices fails (skips with -short outside CI) on a kernel
// without custom scheduler slices (Linux 6.12): it asks for one on a
// thread of its own and reads it back.
func requireCustomSlices(t *testing.T) {
	t.Helper()
	ok := make(chan bool)
	go func() {
		runtime.LockOSThread() // the thread ends with this goroutine
		a, err := unix.SchedGetAttr(0, 0)
		if err != nil {
			ok <- false
			return
		}
		a.Runtime = 100000
		if unix.SchedSetAttr(0, a, 0) != nil {
			ok <- false
			return
		}
		sched, _ := os.ReadFile("/proc/thread-self/sched")
		ok <- strings.Contains(string(sched), "se.slice") && strings.Contains(string(sched), " 100000\n")
	}()
	if <-ok {
		return
	}
	if os.Getenv("CI") == "true" || !testing.Short() {
		t.Fatal("this kernel has no custom scheduler slices (Linux 6.12 and later)")
	}
	t.Skip("no custom scheduler slices on this kernel (-short outside CI; otherwise the test fails)")
}
