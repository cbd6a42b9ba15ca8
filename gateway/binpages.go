package gateway

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// BinaryPagesEnv set to 0 keeps the executable's start-up pages mapped
// (docs/architecture.md D126): the A/B switch of releaseBinaryPages.
const BinaryPagesEnv = "LLMGATE_RELEASE_BINARY_PAGES"

// madvPageout is Linux's MADV_PAGEOUT (5.4+; not in package syscall).
const madvPageout = 21

// releaseBinaryPages gives back the pages of the process's own
// executable's read-only mappings (code, read-only data, the function
// tables), once the gateway serves. Starting llmgate runs the init code of
// every package it links (the Envoy API's protobuf files, the cloud SDKs,
// the store clients), and the kernel maps the whole page-cache folio (up to
// 2 MB) around each page touched: ≈ 34 MB of the binary stay in the
// process's resident set, of which serving requests touches ≈ 4 MB (D126).
// These pages are clean copies of the file. MADV_NOHUGEPAGE and
// MADV_RANDOM make later faults map single pages, read one at a time;
// MADV_PAGEOUT unmaps the pages and reclaims them when no other process
// maps them (a page still dirty from the build is only unmapped), so a
// page needed again is read back by a fault — the serving path's few MB,
// once. Writable mappings (the program's data) are never touched. It
// returns the bytes that were resident in the ranges released.
func releaseBinaryPages() (released int64, err error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	ranges, err := binaryRanges(exe)
	if err != nil {
		return 0, err
	}
	for _, r := range ranges {
		for _, advice := range []uintptr{syscall.MADV_NOHUGEPAGE, syscall.MADV_RANDOM, madvPageout} {
			_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, r.start, r.end-r.start, advice)
			if errno == syscall.EINVAL && advice == madvPageout {
				// Before Linux 5.4: unmapped only, left in the page cache.
				_, _, errno = syscall.Syscall(syscall.SYS_MADVISE, r.start, r.end-r.start, syscall.MADV_DONTNEED)
			}
			if errno != 0 {
				return released, errno
			}
		}
		released += r.rss
	}
	return released, nil
}

// mapRange is one mapping of /proc/self/smaps: its addresses and the bytes
// of it resident.
type mapRange struct {
	start, end uintptr
	rss        int64
}

// binaryRanges reads /proc/self/smaps for the read-only, private mappings
// of the file exe.
func binaryRanges(exe string) ([]mapRange, error) {
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return nil, err
	}
	var out []mapRange
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		f := bytes.Fields(line)
		if len(f) >= 5 && bytes.IndexByte(f[0], '-') > 0 && !bytes.HasSuffix(f[0], []byte(":")) {
			// A mapping's header: "start-end perms offset dev inode [path]".
			in = false
			if len(f) < 6 || string(bytes.Join(f[5:], []byte(" "))) != exe || len(f[1]) != 4 || f[1][1] != '-' || f[1][3] != 'p' {
				continue
			}
			lo, hi, ok := bytes.Cut(f[0], []byte("-"))
			start, err1 := strconv.ParseUint(string(lo), 16, 64)
			end, err2 := strconv.ParseUint(string(hi), 16, 64)
			if !ok || err1 != nil || err2 != nil || end <= start {
				continue
			}
			out = append(out, mapRange{start: uintptr(start), end: uintptr(end)})
			in = true
			continue
		}
		if in && len(f) >= 2 && string(f[0]) == "Rss:" {
			if kb, err := strconv.ParseInt(string(f[1]), 10, 64); err == nil {
				out[len(out)-1].rss = kb << 10
			}
		}
	}
	return out, sc.Err()
}

// releaseStartupPages runs releaseBinaryPages unless BinaryPagesEnv is 0.
func (g *Gateway) releaseStartupPages() {
	if os.Getenv(BinaryPagesEnv) == "0" {
		return
	}
	n, err := releaseBinaryPages()
	if err != nil {
		g.log.Warn("releasing the executable's start-up pages", "error", err)
		return
	}
	g.log.Debug("released the executable's start-up pages", "resident_bytes", n)
}
