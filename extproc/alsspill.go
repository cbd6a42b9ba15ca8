package extproc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/llmgate/llmgate/internal/keys"
)

// The outbox's file copy (docs/architecture.md D63). The outbox keeps its
// records until the gateway acknowledges them, but in `llmgate run` Envoy
// dies with the gateway (kill -9 of the process group, a crash): the
// records in Envoy's memory — an answer's, from the moment its last byte
// went to the client — would die with it. So each record is also copied, as
// it is put, into a memory-mapped file under the gateway's data directory: a
// memory copy (no system call on the worker thread), in the OS page cache
// from then on, so it survives the process being killed (not an OS crash,
// as spend.wal). A segment's header carries the highest sequence number
// acknowledged; a segment whose records are all acknowledged is removed. At
// its next start, before Envoy, the gateway reads the segments left behind
// and reports the records not acknowledged (ReplayModuleOutcomes); the spend
// sink drops a request whose spend it recovered from spend.wal already.
//
// Segment layout: "LGOUTBX1", the acknowledged sequence number (8 bytes,
// little endian), then records: length (4), sequence number (8), the
// record (an http_logs field); a length of 0 ends the segment. The length is
// written last, so a record cut by the kill is not read.
//
// A segment whose records are all acknowledged is used again as the next
// segment when none is prepared (D166: its file's blocks are allocated and
// its pages mapped, where a new segment's first write to each page cost
// ext4's page_mkwrite, ≈ 1 % of keyed Envoy's CPU in D154's profile): it is
// renamed to the next segment's name (the files' order stays the records'),
// its header takes the acknowledged sequence number and its first length is
// zeroed. Its old records lie beyond the writer, each acknowledged: a
// record's write zeroes the length after it before its own length is
// written, so a reader stops where the writer is and reads nothing old.

const (
	spillSegSize = 16 << 20
	spillHeader  = 16
	spillMagic   = "LGOUTBX1"
	spillPrefix  = "outbox-"
	spillSuffix  = ".seg"
)

type spillSeg struct {
	path    string
	mem     []byte
	off     int
	last    uint64 // the last sequence number written
	faulted int    // the pages below were faulted in ahead of the writer
}

type spill struct {
	dir    string
	name   string // outbox-<pid>-<id>
	n      int
	segs   []*spillSeg // oldest first; the last is written
	next   *spillSeg   // the next segment, prepared off the worker (ahead)
	broken bool
}

// spillAhead is how far ahead of the writer the outbox's shipper faults a
// segment's pages in (docs/architecture.md D88). A record's copy into a page
// of the file that was never written faults (ext4's page_mkwrite: the
// block's reservation, now and then a wait for the journal) on Envoy's
// worker: ≈ 1 in 2.4 records, ≈ 10 µs each, and in a measured 16 MB segment
// of 1.7 KB records written at the rate of concurrency 1 the slowest copies
// took 2.1 and 5.3 ms; with the pages faulted in first, 72 and 109 µs. The
// shipper (every OutboxFlushEvery) faults in the next spillAhead bytes
// (MADV_POPULATE_WRITE: the pages made writable without touching their
// bytes, so the worker's copies next to them are safe) and prepares the next
// segment before the writer reaches the end of this one. 1 MB is ≈ 600
// records: 200 ms at 3,000 records a second between two ticks of 20 ms.
const spillAhead = 1 << 20

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14).
const madvPopulateWrite = 23

func openSpill(dir string, id uint64) (*spill, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &spill{dir: dir, name: fmt.Sprintf("%s%d-%x", spillPrefix, os.Getpid(), id)}
	if err := s.rotate(); err != nil {
		return nil, err
	}
	return s, nil
}

// segPath names the next segment (called with the outbox's lock).
func (s *spill) segPath() string {
	s.n++
	return filepath.Join(s.dir, fmt.Sprintf("%s-%06d%s", s.name, s.n, spillSuffix))
}

// openSeg creates and maps an empty segment.
func openSeg(path string) (*spillSeg, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Truncate(spillSegSize); err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, spillSegSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	copy(mem, spillMagic)
	return &spillSeg{path: path, mem: mem, off: spillHeader}, nil
}

// rotate starts the next segment: the one prepared ahead, else a new one
// (called with the outbox's lock).
func (s *spill) rotate() error {
	g := s.next
	s.next = nil
	if g == nil {
		var err error
		if g, err = openSeg(s.segPath()); err != nil {
			return err
		}
	}
	if len(s.segs) > 0 {
		binary.LittleEndian.PutUint64(g.mem[8:], binary.LittleEndian.Uint64(s.segs[0].mem[8:]))
	}
	s.segs = append(s.segs, g)
	return nil
}

// ahead is the shipper's part of the writer's next pages (called with the
// outbox's lock): the range of the written segment to fault in, from the
// page after the one being written up to spillAhead past the writer, and
// the path of a next segment to prepare when the writer is within
// spillAhead of this one's end ("" when none is needed).
func (s *spill) ahead() (pages []byte, prepare string) {
	if s.broken || len(s.segs) == 0 {
		return nil, ""
	}
	cur := s.segs[len(s.segs)-1]
	page := os.Getpagesize()
	// Both ends on a page boundary: madvise(2) refuses a range that does
	// not start on one (EINVAL), and the next tick starts where this one
	// ends (D106: with the end where the writer's offset put it, every tick
	// after the first was refused).
	from := max(cur.faulted, (cur.off/page+1)*page)
	to := min((cur.off+spillAhead+page-1)/page*page, spillSegSize)
	if to > from {
		pages = cur.mem[from:to]
		cur.faulted = to
	}
	if s.next == nil && cur.off > spillSegSize-spillAhead {
		prepare = s.segPath()
	}
	return pages, prepare
}

// faultIn makes the pages of b writable without writing them. A kernel
// that does not know MADV_POPULATE_WRITE refuses it (the worker's copies
// fault the pages as before); the error is returned for the shipper to
// say so once.
func faultIn(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return syscall.Madvise(b, madvPopulateWrite)
}

// write copies one record (called with the outbox's lock).
func (s *spill) write(seq uint64, rec []byte) {
	if s.broken || len(rec)+spillHeader+16 > spillSegSize {
		return
	}
	cur := s.segs[len(s.segs)-1]
	if cur.off+12+len(rec)+4 > spillSegSize {
		if err := s.rotate(); err != nil {
			s.broken = true
			return
		}
		cur = s.segs[len(s.segs)-1]
	}
	copy(cur.mem[cur.off+12:], rec)
	binary.LittleEndian.PutUint64(cur.mem[cur.off+4:], seq)
	// (The end, before the length: a used segment has old bytes there.)
	binary.LittleEndian.PutUint32(cur.mem[cur.off+12+len(rec):], 0)
	binary.LittleEndian.PutUint32(cur.mem[cur.off:], uint32(len(rec)))
	cur.off += 12 + len(rec)
	cur.last = seq
}

// acked records the acknowledged sequence number and removes the segments
// it covers, keeping one as the next segment when none is prepared (called
// with the outbox's lock).
func (s *spill) acked(seq uint64) {
	keep := s.segs[:0]
	for i, g := range s.segs {
		if i < len(s.segs)-1 && g.last <= seq {
			if s.next == nil && !s.broken && s.reuse(g, seq) {
				continue
			}
			_ = syscall.Munmap(g.mem)
			_ = os.Remove(g.path)
			continue
		}
		binary.LittleEndian.PutUint64(g.mem[8:], seq)
		keep = append(keep, g)
	}
	s.segs = keep
}

// reuse makes g, whose records are all acknowledged (up to seq), the next
// segment: false when it cannot be renamed (it is then removed).
func (s *spill) reuse(g *spillSeg, seq uint64) bool {
	// Emptied first: killed before the rename, the file under its old
	// name has nothing to read either.
	binary.LittleEndian.PutUint64(g.mem[8:], seq)
	binary.LittleEndian.PutUint32(g.mem[spillHeader:], 0)
	path := s.segPath()
	if err := os.Rename(g.path, path); err != nil {
		return false
	}
	g.path, g.off, g.last, g.faulted = path, spillHeader, 0, 0
	s.next = g
	return true
}

// close unmaps the segments; with all, everything was acknowledged and
// they are removed.
func (s *spill) close(all bool) {
	for _, g := range s.segs {
		_ = syscall.Munmap(g.mem)
		if all {
			_ = os.Remove(g.path)
		}
	}
	s.segs = nil
	if s.next != nil {
		_ = syscall.Munmap(s.next.mem)
		_ = os.Remove(s.next.path)
		s.next = nil
	}
	s.broken = true
}

// readSpill reads the records not acknowledged from the segments in dir,
// in each outbox's order, and returns them with the files read.
func readSpill(dir string) (recs [][]byte, files []string, err error) {
	m, err := filepath.Glob(filepath.Join(dir, spillPrefix+"*"+spillSuffix))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(m) // an outbox's segments in order (zero-padded numbers)
	for _, p := range m {
		b, err := os.ReadFile(p)
		if err != nil {
			return recs, files, err
		}
		files = append(files, p)
		if len(b) < spillHeader || string(b[:8]) != spillMagic {
			continue
		}
		acked := binary.LittleEndian.Uint64(b[8:])
		for off := spillHeader; off+12 <= len(b); {
			n := int(binary.LittleEndian.Uint32(b[off:]))
			if n == 0 || off+12+n > len(b) {
				break
			}
			if seq := binary.LittleEndian.Uint64(b[off+4:]); seq > acked {
				recs = append(recs, b[off+12:off+12+n])
			}
			off += 12 + n
		}
	}
	return recs, files, nil
}

// ReplayModuleOutcomes reports the module's records a previous process left
// not acknowledged in dir (the outbox's file copy), waits (at most wait)
// until they are reported and the spend sink has consumed them, and removes
// the files. The gateway calls it at start, before Envoy runs.
func (s *Server) ReplayModuleOutcomes(dir string, wait time.Duration) (int, error) {
	a := s.moduleOut.svc
	if a == nil {
		return 0, errors.New("no access-log service registered")
	}
	recs, files, err := readSpill(dir)
	if err != nil {
		return 0, err
	}
	var msgs []*moduleMsg
	for _, r := range recs {
		msgs = append(msgs, a.readModule(r))
	}
	s.moduleOut.pending.Add(-int64(len(msgs)))
	deadline := time.Now().Add(wait)
	for _, m := range msgs {
		for !m.ready.Load() || !s.Outcomes.Reached(keys.SpendSink, m.mark.Load()) {
			if time.Now().After(deadline) {
				return len(recs), fmt.Errorf("%d outcome records replayed, not all reported within %v", len(recs), wait)
			}
			// A record whose failed tries Envoy's log will never bring is
			// reported with what it has.
			a.handle(a.j.sweep(time.Now().Add(a.j.waitTries)))
			time.Sleep(5 * time.Millisecond)
		}
	}
	for _, f := range files {
		if strings.HasSuffix(f, spillSuffix) {
			_ = os.Remove(f)
		}
	}
	return len(recs), nil
}
