package respcache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/backendauth"
)

// The gcs cache (LiteLLM's GCSCache): each entry one object at
// [gcs_path/]<cache key> of the bucket, its body the entry's JSON (as the s3
// store's: LiteLLM's value plus the key and the expiry, so an expired entry
// is a miss). Cloud Storage's JSON API over net/http: a lookup is one GET
// (alt=media), a write one media upload, both with a service account's
// OAuth token. The token is fetched and refreshed by the backend's own
// goroutine, so a lookup never waits for the token endpoint: before the
// first token arrives a lookup is a miss.

// gcsTimeout bounds one Cloud Storage call.
const gcsTimeout = 2 * time.Second

// gcsRefresh is how often the token is asked of its source (the source
// fetches a new one five minutes before the current one expires).
const gcsRefresh = time.Minute

type gcsBackend struct {
	hc       *http.Client
	endpoint string // the JSON API's root, e.g. https://storage.googleapis.com
	bucket   string
	prefix   string

	auth   *backendauth.Vertex
	bearer atomic.Pointer[string] // "Bearer …"; nil until the first token
	wake   chan struct{}
	stop   chan struct{}
	once   sync.Once
	errMu  sync.Mutex
	tokErr error // the last token failure (ping reports it)
}

func newGCS(g config.GCSCache) (*gcsBackend, error) {
	js, err := backendauth.LoadVertexCredentials(g.ServiceAccount)
	if err != nil {
		return nil, errors.New(strings.Replace(err.Error(), "vertex credentials", "gcs cache credentials", 1))
	}
	hc := &http.Client{Timeout: gcsTimeout}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	v, err := backendauth.NewVertex(ctx, js)
	if err != nil {
		return nil, errors.New(strings.Replace(err.Error(), "vertex credentials", "gcs cache credentials", 1))
	}
	b := &gcsBackend{hc: hc, endpoint: strings.TrimRight(g.Endpoint, "/"), bucket: g.Bucket, prefix: g.Path,
		auth: v, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	go b.refresh()
	return b, nil
}

// refresh keeps the token current, off the request path: at once, every
// gcsRefresh, and when a call found none or was refused (wake).
func (b *gcsBackend) refresh() {
	t := time.NewTicker(gcsRefresh)
	defer t.Stop()
	for {
		h, err := b.auth.Headers(backendauth.Request{})
		b.errMu.Lock()
		b.tokErr = err
		b.errMu.Unlock()
		if err == nil {
			s := h["authorization"]
			b.bearer.Store(&s)
		}
		select {
		case <-b.stop:
			return
		case <-t.C:
		case <-b.wake:
			// At most one fetch a second when calls keep finding no token.
			select {
			case <-b.stop:
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// token is the current authorization; errNoToken (and a wake of the
// refresher) when there is none yet.
func (b *gcsBackend) token() (string, error) {
	if p := b.bearer.Load(); p != nil {
		return *p, nil
	}
	b.poke()
	b.errMu.Lock()
	err := b.tokErr
	b.errMu.Unlock()
	if err != nil {
		return "", err
	}
	return "", errNoToken
}

func (b *gcsBackend) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

var errNoToken = errors.New("gcs cache: no access token yet")

// objectURL is the object's metadata/media URL: its name one path segment
// (every "/" escaped, as LiteLLM's quote(name, safe="")).
func (b *gcsBackend) objectURL(key string) string {
	return b.endpoint + "/storage/v1/b/" + url.PathEscape(b.bucket) + "/o/" + url.PathEscape(b.prefix+key)
}

// call sends one request with the current token.
func (b *gcsBackend) call(ctx context.Context, method, u string, body []byte) (*http.Response, error) {
	bearer, err := b.token()
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", bearer)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return b.hc.Do(req)
}

// gcsError reads Cloud Storage's error answer (its message, never the
// request's authorization).
func gcsError(resp *http.Response) error {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = json.Unmarshal(b, &e)
	return fmt.Errorf("gcs cache: HTTP %d %s", resp.StatusCode, e.Error.Message)
}

func (b *gcsBackend) get(ctx context.Context, key string) (Entry, bool, error) {
	resp, err := b.call(ctx, http.MethodGet, b.objectURL(key)+"?alt=media", nil)
	if err != nil {
		if errors.Is(err, errNoToken) {
			return Entry{}, false, nil
		}
		return Entry{}, false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return Entry{}, false, nil
	default:
		return Entry{}, false, gcsError(resp)
	}
	return readFileStored(resp.Body)
}

func (b *gcsBackend) getMany(ctx context.Context, keys []string) ([]Entry, error) {
	return getEach(ctx, keys, b.get)
}

// set is LiteLLM's media upload: POST …/upload/storage/v1/b/<bucket>/o
// ?uploadType=media&name=<name>.
func (b *gcsBackend) set(ctx context.Context, key string, e Entry, ttl time.Duration) error {
	body, err := encodeFileStored(key, e, ttl)
	if err != nil {
		return err
	}
	u := b.endpoint + "/upload/storage/v1/b/" + url.PathEscape(b.bucket) + "/o?uploadType=media&name=" + url.QueryEscape(b.prefix+key)
	resp, err := b.call(ctx, http.MethodPost, u, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return gcsError(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

func (b *gcsBackend) delete(ctx context.Context, name string) (bool, error) {
	resp, err := b.call(ctx, http.MethodDelete, b.endpoint+"/storage/v1/b/"+url.PathEscape(b.bucket)+"/o/"+url.PathEscape(name), nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return true, nil
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	default:
		return false, gcsError(resp)
	}
}

func (b *gcsBackend) del(ctx context.Context, keys []string) (int, error) {
	n := 0
	for _, k := range keys {
		ok, err := b.delete(ctx, b.prefix+k)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// flush removes the cache's objects under the folder (LiteLLM's GCSCache
// removes nothing): only names shaped as cache keys, so the bucket's other
// objects stay. The listing is paged (Cloud Storage's nextPageToken).
func (b *gcsBackend) flush(ctx context.Context) (int, error) {
	n, page := 0, ""
	for {
		q := url.Values{"prefix": {b.prefix}, "fields": {"items(name),nextPageToken"}}
		if page != "" {
			q.Set("pageToken", page)
		}
		resp, err := b.call(ctx, http.MethodGet, b.endpoint+"/storage/v1/b/"+url.PathEscape(b.bucket)+"/o?"+q.Encode(), nil)
		if err != nil {
			return n, err
		}
		var list struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
			NextPageToken string `json:"nextPageToken"`
		}
		if resp.StatusCode != http.StatusOK {
			err = gcsError(resp)
		} else {
			err = json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&list)
		}
		resp.Body.Close()
		if err != nil {
			return n, err
		}
		for _, it := range list.Items {
			if !cacheKeyName.MatchString(strings.TrimPrefix(it.Name, b.prefix)) {
				continue
			}
			ok, err := b.delete(ctx, it.Name)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
		if page = list.NextPageToken; page == "" {
			return n, nil
		}
	}
}

// ping reads the bucket's metadata (a token failure is reported as such).
func (b *gcsBackend) ping(ctx context.Context) error {
	if b.bearer.Load() == nil {
		// The first token may still be on its way: give it the call's time.
		deadline := time.Now().Add(gcsTimeout)
		for b.bearer.Load() == nil && time.Now().Before(deadline) {
			b.errMu.Lock()
			err := b.tokErr
			b.errMu.Unlock()
			if err != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	resp, err := b.call(ctx, http.MethodGet, b.endpoint+"/storage/v1/b/"+url.PathEscape(b.bucket)+"?fields=name", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return gcsError(resp)
	}
	return nil
}

func (b *gcsBackend) close() error {
	b.once.Do(func() { close(b.stop) })
	return nil
}
