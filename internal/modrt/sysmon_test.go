package modrt

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSysmonIdle (D106): in this test binary (a Go program like any other:
// the runtime's first thread after the main one is sysmon, which
// runtime.main starts before anything else), SysmonIdle finds that thread
// and puts it on SCHED_IDLE, and no other thread of the process.
func TestSysmonIdle(t *testing.T) {
	if nanosleep == 0 {
		t.Skip("sysmon is looked for on amd64 and arm64 only")
	}
	idle, err := SysmonIdle(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tid := idle.Tid
	if _, err := idle.Mend(); err != nil { // threads started from sysmon meanwhile
		t.Fatal(err)
	}
	pid := os.Getpid()
	first := 0
	tasks, _ := filepath.Glob("/proc/self/task/*")
	for _, dir := range tasks {
		n, _ := strconv.Atoi(filepath.Base(dir))
		if n != pid && (first == 0 || n < first) {
			first = n
		}
	}
	if tid != first {
		t.Errorf("SysmonIdle chose thread %d, want %d (the runtime's first thread after main: sysmon)", tid, first)
	}
	for _, dir := range tasks {
		n, _ := strconv.Atoi(filepath.Base(dir))
		policy := schedPolicy(t, dir)
		if n == tid && policy != "5" {
			t.Errorf("sysmon (thread %d): policy %s, want 5 (SCHED_IDLE)", n, policy)
		}
		if n != tid && policy == "5" {
			t.Errorf("thread %d is on SCHED_IDLE too", n)
		}
	}
}

// TestIdleMend (D172): a thread on SCHED_IDLE other than sysmon (as a
// thread the runtime starts from sysmon's inherits its policy) is put back
// on the attributes sysmon had before, once; sysmon stays idle.
func TestIdleMend(t *testing.T) {
	before, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	sysmon := make(chan int)
	child := make(chan int)
	done := make(chan struct{})
	defer close(done)
	onIdleThread := func(tids chan<- int) {
		runtime.LockOSThread() // the thread ends with the goroutine
		a, err := unix.SchedGetAttr(0, 0)
		if err == nil {
			a.Policy = unix.SCHED_IDLE
			err = unix.SchedSetAttr(0, a, 0)
		}
		if err != nil {
			t.Error(err)
		}
		tids <- unix.Gettid()
		<-done
	}
	go onIdleThread(sysmon)
	go onIdleThread(child)
	idle := &Idle{Tid: <-sysmon, before: *before}
	tid := <-child
	mended, err := idle.Mend()
	if err != nil {
		t.Fatal(err)
	}
	others := 0 // the real sysmon, if TestSysmonIdle put it on SCHED_IDLE
	for _, m := range mended {
		if m != tid {
			others++
		}
	}
	if len(mended)-others != 1 || others > 1 {
		t.Errorf("mended %v, want %d (and the real sysmon at most)", mended, tid)
	}
	if got := schedPolicy(t, filepath.Join("/proc/self/task", strconv.Itoa(tid))); got != strconv.Itoa(int(before.Policy)) {
		t.Errorf("thread %d: policy %s after Mend, want %d", tid, got, before.Policy)
	}
	if got := schedPolicy(t, filepath.Join("/proc/self/task", strconv.Itoa(idle.Tid))); got != "5" {
		t.Errorf("sysmon (thread %d): policy %s after Mend, want 5 (SCHED_IDLE)", idle.Tid, got)
	}
	if again, _ := idle.Mend(); len(again) != 0 {
		t.Errorf("second Mend mended %v, want none", again)
	}
}

// schedPolicy is the "policy" line of a thread's sched file.
func schedPolicy(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "sched"))
	if err != nil {
		return "" // ended meanwhile
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "policy" {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s/sched has no policy line", dir)
	return ""
}

func TestSysmonOf(t *testing.T) {
	for _, c := range []struct {
		seen map[int]int
		want int
	}{
		{map[int]int{7: 5}, 7},         // seen 5 times
		{map[int]int{7: 4}, 0},         // not yet
		{map[int]int{7: 8, 9: 2}, 7},   // another thread seen now and then (a spinning M's usleep)
		{map[int]int{7: 8, 9: 3}, 0},   // too often: not yet told apart
		{map[int]int{7: 50, 9: 50}, 0}, // two alike: none
		{map[int]int{}, 0},             // none asleep in the runtime
		{map[int]int{9: 2, 7: 40}, 7},  // whatever the order
		{map[int]int{3: 1, 9: 10, 7: 40}, 7},
	} {
		if got, ok := sysmonOf(c.seen); ok != (c.want != 0) || (ok && got != c.want) {
			t.Errorf("sysmonOf(%v) = %d, %v; want %d", c.seen, got, ok, c.want)
		}
	}
}

func TestParseSyscall(t *testing.T) {
	for _, c := range []struct {
		in     string
		nr     int
		pc     uint64
		wantOK bool
	}{
		{"35 0x7ffd4c5f1e50 0x0 0x0 0x0 0x0 0x0 0x7ffd4c5f1e38 0x46b1a3\n", 35, 0x46b1a3, true},
		{"202 0xc000080148 0x80 0x0 0x0 0x0 0x0 0x7f3d2effcd40 0x4718e3", 202, 0x4718e3, true},
		{"running\n", 0, 0, false},
		{"-1 0x7ffd4c5f1e38 0x46b1a3\n", 0, 0, false},
		{"35 0x1 0x0 0x0 0x0 0x0 0x0 0x2 zz", 0, 0, false},
	} {
		nr, pc, ok := parseSyscall([]byte(c.in))
		if ok != c.wantOK || (ok && (nr != c.nr || pc != c.pc)) {
			t.Errorf("parseSyscall(%q) = %d, %#x, %v", c.in, nr, pc, ok)
		}
	}
}

func TestTextOf(t *testing.T) {
	maps := `55d4a0000000-55d4a0200000 r--p 00000000 08:01 123 /usr/bin/envoy
55d4a0200000-55d4a4000000 r-xp 00200000 08:01 123 /usr/bin/envoy
7f10a0000000-7f10a0400000 r--p 00000000 08:01 456 /opt/llmgate/libllmgate.so
7f10a0400000-7f10a1000000 r-xp 00400000 08:01 456 /opt/llmgate/libllmgate.so
7f10a1000000-7f10a1200000 rw-p 01000000 08:01 456 /opt/llmgate/libllmgate.so
7f10a1200000-7f10a1300000 rw-p 00000000 00:00 0
7ffd4c5d2000-7ffd4c5f3000 rw-p 00000000 00:00 0 [stack]
`
	text, err := textOf([]byte(maps), 0x7f10a0500000)
	if err != nil {
		t.Fatal(err)
	}
	for pc, want := range map[uint64]bool{
		0x7f10a0400000: true, 0x7f10a0fffff0: true, // the library's code
		0x7f10a0300000: false, 0x7f10a1000000: false, // its data
		0x55d4a0300000: false, // Envoy's code
	} {
		if text.has(pc) != want {
			t.Errorf("has(%#x) = %v, want %v", pc, !want, want)
		}
	}
	if _, err := textOf([]byte(maps), 0x1000); err == nil {
		t.Error("a pc in no mapping: want an error")
	}
}
