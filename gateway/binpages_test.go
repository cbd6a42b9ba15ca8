package gateway

import (
	"os"
	"testing"
)

// written is program data set before the release: releaseBinaryPages must
// leave writable mappings alone (MADV_DONTNEED there would reset it to the
// file's zero).
var written = 0

func TestReleaseBinaryPages(t *testing.T) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatalf("no /proc/self/exe: %v", err)
	}
	resident := func() (n int64) {
		rs, err := binaryRanges(exe)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			n += r.rss
		}
		return n
	}
	written = 42
	before := resident()
	if before < 1<<20 {
		t.Fatalf("the test binary's read-only mappings hold %d bytes before the release; want the start-up's pages (≥ 1 MB)", before)
	}
	released, err := releaseBinaryPages()
	if err != nil {
		t.Fatal(err)
	}
	after := resident()
	t.Logf("read-only mappings of %s: %d kB resident before, %d kB released, %d kB after", exe, before>>10, released>>10, after>>10)
	if after > before/4 {
		t.Errorf("read-only mappings hold %d bytes after the release, %d before: want at most a quarter", after, before)
	}
	if released < before/2 {
		t.Errorf("released %d bytes of %d", released, before)
	}
	if written != 42 {
		t.Errorf("program data changed by the release: %d", written)
	}
}
