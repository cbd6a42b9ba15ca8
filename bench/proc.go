package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Pinning places the load generator and the system under test on separate
// CPUs with taskset (util-linux). Zero value: no pinning.
type Pinning struct {
	Taskset string // path of taskset; empty: not pinned
	LoadCPU string // CPU list of the load generator and the fake provider
	SUTCPU  string // CPU list of the system under test (Envoy, llmgate, LiteLLM)
}

// Enabled reports whether processes are pinned.
func (p Pinning) Enabled() bool { return p.Taskset != "" }

func (p Pinning) String() string {
	if !p.Enabled() {
		return "not pinned"
	}
	return fmt.Sprintf("load generator and fake provider on CPU %s, system under test on CPU %s (taskset)", p.LoadCPU, p.SUTCPU)
}

// command wraps argv in taskset for the given CPU list when pinning is on.
func (p Pinning) command(cpus string, argv []string) []string {
	if !p.Enabled() || cpus == "" {
		return argv
	}
	return append([]string{p.Taskset, "-c", cpus}, argv...)
}

// Proc is a child process the harness started. It runs in its own process
// group so that Stop ends it and its children (Envoy under llmgate, LiteLLM's
// workers) and nothing else.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// startProc runs argv with its output in logDir/name.log.
func startProc(name, logDir string, argv []string, env []string) (*Proc, error) {
	f, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, argv[0], err)
	}
	p := &Proc{Name: name, cmd: cmd, log: f, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// PID of the process (taskset execs in place, so it is the program's own).
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// LogTail is the last n bytes of the process's output, for error messages.
func (p *Proc) LogTail(n int64) string {
	b, err := os.ReadFile(p.log.Name())
	if err != nil {
		return ""
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

// Stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *Proc) Stop(grace time.Duration) {
	if p == nil {
		return
	}
	defer p.log.Close()
	if p.Exited() {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// ProcSample is what /proc tells about one process at one moment.
type ProcSample struct {
	RSS, HWM int64 // resident set and its peak (VmHWM), bytes
	CPU      time.Duration
}

// clockTick is USER_HZ, 100 on every Linux architecture Go supports.
const clockTick = 100

// readProc samples /proc/<pid>/status and /proc/<pid>/stat.
func readProc(pid int) (ProcSample, error) {
	var s ProcSample
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	s.RSS, s.HWM = parseStatus(st)
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	ticks, err := parseStatCPU(stat)
	if err != nil {
		return s, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	s.CPU = time.Duration(ticks) * time.Second / clockTick
	return s, nil
}

// parseStatus reads VmRSS and VmHWM (kB) from /proc/<pid>/status, in bytes.
func parseStatus(b []byte) (rss, hwm int64) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			hwm = n << 10
		}
	}
	return rss, hwm
}

// parseStatCPU returns utime+stime (clock ticks) from /proc/<pid>/stat. The
// command name may hold spaces and parentheses, so fields are counted from the
// last ')'.
func parseStatCPU(b []byte) (int64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat line")
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	s, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, err
	}
	return u + s, nil
}

// parseStatPPID returns the parent pid (field 4) from /proc/<pid>/stat.
func parseStatPPID(b []byte) (int, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, fmt.Errorf("short stat line")
	}
	return strconv.Atoi(f[1])
}

// descendants lists the pids of every process below pid.
func descendants(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		pp, err := parseStatPPID(b)
		if err != nil {
			continue
		}
		children[pp] = append(children[pp], c)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// comm is the process's command name.
func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}
