package respcache

import (
	"context"
	"sync"
	"time"
)

// The local (in-memory) cache as LiteLLM's InMemoryCache keeps it: at most
// localMaxEntries entries of at most localMaxEntryBytes each, an entry
// without a ttl kept localDefaultTTL; when full, expired entries go first,
// then those that expire soonest.
const (
	localMaxEntries    = 200
	localMaxEntryBytes = 1 << 20
	localDefaultTTL    = 600 * time.Second
)

type local struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]localEntry
}

type localEntry struct {
	e       Entry
	expires time.Time
}

func newLocal(now func() time.Time) *local {
	return &local{now: now, entries: map[string]localEntry{}}
}

func (l *local) get(_ context.Context, key string) (Entry, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	le, ok := l.entries[key]
	if !ok {
		return Entry{}, false, nil
	}
	if !l.now().Before(le.expires) {
		delete(l.entries, key)
		return Entry{}, false, nil
	}
	return le.e, true, nil
}

func (l *local) getMany(ctx context.Context, keys []string) ([]Entry, error) {
	out := make([]Entry, len(keys))
	for i, k := range keys {
		out[i], _, _ = l.get(ctx, k)
	}
	return out, nil
}

func (l *local) set(_ context.Context, key string, e Entry, ttl time.Duration) error {
	if len(e.Body) > localMaxEntryBytes {
		return nil // LiteLLM's max_size_per_item: not kept
	}
	if ttl <= 0 {
		ttl = localDefaultTTL
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.entries[key]; !ok && len(l.entries) >= localMaxEntries {
		for k, le := range l.entries {
			if !now.Before(le.expires) {
				delete(l.entries, k)
			}
		}
		for len(l.entries) >= localMaxEntries {
			var first string
			var at time.Time
			for k, le := range l.entries {
				if first == "" || le.expires.Before(at) {
					first, at = k, le.expires
				}
			}
			delete(l.entries, first)
		}
	}
	l.entries[key] = localEntry{e: e, expires: now.Add(ttl)}
	return nil
}

func (l *local) del(_ context.Context, keys []string) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, k := range keys {
		if _, ok := l.entries[k]; ok {
			delete(l.entries, k)
			n++
		}
	}
	return n, nil
}

func (l *local) flush(context.Context) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.entries)
	clear(l.entries)
	return n, nil
}

func (l *local) ping(context.Context) error { return nil }
func (l *local) close() error               { return nil }
