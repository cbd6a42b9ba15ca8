package modrt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The Go runtime's sysmon thread off Envoy's workers' way
// (docs/architecture.md D106).
//
// sysmon is the runtime's monitor thread: it wakes every 20 µs to 10 ms to
// take Ps back from threads in syscalls and to preempt goroutines that run
// too long. Inside Envoy it never rests for long: a worker's hook goroutine
// never passes through the scheduler, so every 10 ms sysmon takes the
// worker's P back, and each time that resets its poll to 20 µs (and a hook
// that finds its P gone wakes it from its deep sleep). It inherits Envoy's
// 100 µs slice (D94), so each wake-up that comes after a worker has run
// 100 µs takes the CPU from it: ≈ 0.9 times per request at concurrency 1,
// five times as often as every other process on the CPU together (D106's
// per-request timelines). On SCHED_IDLE it runs when the CPU has nothing
// else to run, or on a tiny share of it (weight 3 against a normal
// thread's 1024) when the CPU is busy, and never preempts a worker; its
// work (retaking Ps, forced preemption, the 2-minute forced GC) is not
// time-critical with the module's spare P (D66), and it is never what a
// worker waits for: a worker that lost its P takes an idle one.

// SysmonIdleEnv turns the change off: "0" leaves sysmon as the runtime
// started it (for an A/B); anything else, or unset, puts it on SCHED_IDLE.
const SysmonIdleEnv = "LLMGATE_SYSMON_IDLE"

// nanosleep is the syscall number sysmon sleeps in between two polls
// (runtime.usleep on linux/amd64 and arm64; 0 elsewhere: not looked for).
var nanosleep = map[string]int{"amd64": 35, "arm64": 101}[runtime.GOARCH]

// SysmonIdle finds the runtime's sysmon thread among the process's
// threads and puts it on SCHED_IDLE (its slice back to the kernel's
// default). It looks at every thread, back to back, for up to within, and
// returns the thread's id once one thread was seen asleep in nanosleep(2)
// called from this binary's code at least 5 times and 4 times as often as
// any other: sysmon, between two polls (another runtime thread may sleep
// there a few µs while it steals work). Envoy's own threads sleep in
// epoll_wait and futex, and the runtime's other threads park in futex. The
// looks keep sysmon polling: the first file read wakes it if it was in its
// deep sleep, and it polls as long as a P is busy (this one). It returns
// an error when no thread qualifies or the kernel refuses.
func SysmonIdle(within time.Duration) (*Idle, error) {
	if nanosleep == 0 {
		return nil, fmt.Errorf("sysmon is not looked for on %s", runtime.GOARCH)
	}
	text, err := ownText()
	if err != nil {
		return nil, err
	}
	self := unix.Gettid()
	seen := map[int]int{}
	for end := time.Now().Add(within); time.Now().Before(end); {
		tids, _ := filepath.Glob("/proc/self/task/*")
		for _, dir := range tids {
			tid, err := strconv.Atoi(filepath.Base(dir))
			if err != nil || tid == self {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, "syscall"))
			if err != nil {
				continue // ended meanwhile
			}
			if nr, pc, ok := parseSyscall(b); ok && nr == nanosleep && text.has(pc) {
				seen[tid]++
			}
		}
		if tid, ok := sysmonOf(seen); ok {
			return setIdle(tid)
		}
	}
	return nil, fmt.Errorf("sysmon not found in %v (threads seen asleep in the runtime's nanosleep: %v)", within, seen)
}

// Idle is sysmon on SCHED_IDLE: its thread, and the scheduling attributes
// it had before (Envoy's policy and slice, D94).
//
// A thread inherits its creator's policy, and sysmon creates threads: when
// it takes a P back from a thread in a syscall and work waits while no idle
// M is left, the runtime starts a new M from sysmon's thread (CI saw one a
// few milliseconds after start). Such a thread runs goroutines like any
// other (the module's streams, its outcome shipping), and on SCHED_IDLE a
// busy CPU would starve them: Mend puts it back.
type Idle struct {
	Tid    int
	before unix.SchedAttr
	seen   map[int]bool // threads Mend looked at (it looks at new ones only)
}

// Mend puts every thread of the process other than sysmon that is on
// SCHED_IDLE back on the attributes sysmon had before; it looks only at
// threads it has not looked at before, and returns the ones it mended.
func (s *Idle) Mend() ([]int, error) {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	now := make(map[int]bool, len(names))
	var mended []int
	var errs []error
	for _, name := range names {
		tid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		now[tid] = true
		if s.seen[tid] || tid == s.Tid {
			continue
		}
		a, err := unix.SchedGetAttr(tid, 0)
		if err != nil || a.Policy != unix.SCHED_IDLE {
			continue // ended meanwhile, or not inherited
		}
		back := s.before
		if err := unix.SchedSetAttr(tid, &back, 0); err != nil {
			errs = append(errs, fmt.Errorf("sched_setattr %d: %w", tid, err))
			continue
		}
		mended = append(mended, tid)
	}
	s.seen = now // a thread that ended is forgotten
	return mended, errors.Join(errs...)
}

// sysmonOf is the thread seen at least 5 times and 4 times as often as any
// other, if there is one.
func sysmonOf(seen map[int]int) (int, bool) {
	top, most, second := 0, 0, 0
	for tid, n := range seen {
		switch {
		case n > most:
			top, most, second = tid, n, most
		case n > second:
			second = n
		}
	}
	return top, most >= 5 && most >= 4*second
}

// parseSyscall reads /proc/<tid>/syscall: the number of the syscall the
// thread is blocked in, its six arguments, its stack pointer and its
// program counter ("running" or "-1 …" when it is in none).
func parseSyscall(b []byte) (nr int, pc uint64, ok bool) {
	f := strings.Fields(string(b))
	if len(f) != 9 {
		return 0, 0, false
	}
	nr, err := strconv.Atoi(f[0])
	if err != nil || nr < 0 {
		return 0, 0, false
	}
	pc, err = strconv.ParseUint(strings.TrimPrefix(f[8], "0x"), 16, 64)
	return nr, pc, err == nil
}

// setIdle puts thread tid on SCHED_IDLE with the kernel's default slice.
func setIdle(tid int) (*Idle, error) {
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return nil, fmt.Errorf("sched_getattr %d: %w", tid, err)
	}
	idle := &Idle{Tid: tid, before: *a}
	a.Policy, a.Runtime = unix.SCHED_IDLE, 0
	if err := unix.SchedSetAttr(tid, a, 0); err != nil {
		return nil, fmt.Errorf("sched_setattr %d SCHED_IDLE: %w", tid, err)
	}
	return idle, nil
}

// textRanges are the executable mappings of one file.
type textRanges [][2]uint64

func (t textRanges) has(pc uint64) bool {
	for _, r := range t {
		if pc >= r[0] && pc < r[1] {
			return true
		}
	}
	return false
}

// ownText is the executable mappings of the file this code was loaded
// from (the module's shared library inside Envoy, the binary elsewhere).
func ownText() (textRanges, error) {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	pc, _, _, _ := runtime.Caller(0)
	return textOf(b, uint64(pc))
}

// textOf is the executable mappings in maps of the file whose mapping
// holds pc.
func textOf(maps []byte, pc uint64) (textRanges, error) {
	type mapping struct {
		lo, hi uint64
		exec   bool
		path   string
	}
	var all []mapping
	self := ""
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		m := mapping{exec: strings.Contains(f[1], "x"), path: f[5]}
		var err1, err2 error
		m.lo, err1 = strconv.ParseUint(lo, 16, 64)
		m.hi, err2 = strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if pc >= m.lo && pc < m.hi {
			self = m.path
		}
		all = append(all, m)
	}
	var out textRanges
	for _, m := range all {
		if self != "" && m.path == self && m.exec {
			out = append(out, [2]uint64{m.lo, m.hi})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no executable mapping holds %#x", pc)
	}
	return out, nil
}
