package respcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// The disk cache (LiteLLM's DiskCache, python-diskcache in
// disk_cache_dir): each entry one file, <sha256 of the key>.llmcache, its
// body the entry's JSON with its key and expiry (no expiry unless a ttl is
// set, as diskcache's). The directory keeps at most diskMaxBytes (diskcache's
// default size_limit): past it the oldest files go first.

const (
	diskMaxBytes = 1 << 30
	diskSuffix   = ".llmcache"
)

type diskBackend struct {
	dir string
	now func() time.Time

	mu    sync.Mutex
	size  int64 // the files' bytes (-1: not counted yet)
	limit int64
}

func newDisk(dir string, now func() time.Time) (*diskBackend, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &diskBackend{dir: dir, now: now, size: -1, limit: diskMaxBytes}, nil
}

func (d *diskBackend) path(key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(d.dir, hex.EncodeToString(h[:])+diskSuffix)
}

func (d *diskBackend) get(_ context.Context, key string) (Entry, bool, error) {
	b, err := os.ReadFile(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, err
	}
	e, ok := decodeFileStored(b, d.now())
	if !ok {
		_ = os.Remove(d.path(key)) // expired (or not ours: our name, so a torn write)
	}
	return e, ok, nil
}

func (d *diskBackend) getMany(ctx context.Context, keys []string) ([]Entry, error) {
	out := make([]Entry, len(keys))
	for i, k := range keys {
		e, ok, err := d.get(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = e
		}
	}
	return out, nil
}

func (d *diskBackend) set(_ context.Context, key string, e Entry, ttl time.Duration) error {
	b, err := encodeFileStored(key, e, ttl)
	if err != nil {
		return err
	}
	p := d.path(key)
	tmp, err := os.CreateTemp(d.dir, ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	var old int64
	if fi, err := os.Stat(p); err == nil {
		old = fi.Size()
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.size < 0 {
		d.size = d.count()
	} else {
		d.size += int64(len(b)) - old
	}
	if d.size > d.limit {
		d.evict()
	}
	return nil
}

type diskFile struct {
	path string
	size int64
	mod  time.Time
}

// files lists the cache's files.
func (d *diskBackend) files() []diskFile {
	des, err := os.ReadDir(d.dir)
	if err != nil {
		return nil
	}
	var out []diskFile
	for _, de := range des {
		if de.IsDir() || !strings.HasSuffix(de.Name(), diskSuffix) {
			continue
		}
		if fi, err := de.Info(); err == nil {
			out = append(out, diskFile{filepath.Join(d.dir, de.Name()), fi.Size(), fi.ModTime()})
		}
	}
	return out
}

func (d *diskBackend) count() int64 {
	var n int64
	for _, f := range d.files() {
		n += f.size
	}
	return n
}

// evict removes the oldest files until the directory holds 90 % of the
// limit (d.mu held).
func (d *diskBackend) evict() {
	fs := d.files()
	slices.SortFunc(fs, func(a, b diskFile) int { return a.mod.Compare(b.mod) })
	var n int64
	for _, f := range fs {
		n += f.size
	}
	for _, f := range fs {
		if n <= d.limit/10*9 {
			break
		}
		if os.Remove(f.path) == nil {
			n -= f.size
		}
	}
	d.size = n
}

func (d *diskBackend) del(_ context.Context, keys []string) (int, error) {
	n := 0
	for _, k := range keys {
		if err := os.Remove(d.path(k)); err == nil {
			n++
		} else if !errors.Is(err, fs.ErrNotExist) {
			return n, err
		}
	}
	d.mu.Lock()
	d.size = -1
	d.mu.Unlock()
	return n, nil
}

func (d *diskBackend) flush(context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, f := range d.files() {
		if err := os.Remove(f.path); err == nil {
			n++
		}
	}
	d.size = -1
	return n, nil
}

func (d *diskBackend) ping(context.Context) error {
	fi, err := os.Stat(d.dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New(d.dir + " is not a directory")
	}
	return nil
}

func (d *diskBackend) close() error { return nil }
