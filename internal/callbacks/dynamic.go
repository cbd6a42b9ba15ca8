package callbacks

import (
	"context"
	"strings"
	"sync"

	"github.com/llmgate/llmgate/internal/outcome"
)

// Key- and team-based logging from the keys' and teams' metadata (LiteLLM's
// _get_dynamic_logging_metadata, D64). In order, the first that is set
// decides a request's own callbacks: the key's metadata "logging" (a list of
// {callback_name, callback_type, callback_vars}), the team's "logging", the
// team's "callback_settings" ({success_callback, failure_callback,
// callbacks, callback_vars}, LiteLLM's older form, what /team/{id}/callback
// writes), else default_team_settings (Settings.Teams, TeamGeneric,
// TeamS3). The callbacks named there are added to the request's; langfuse
// with langfuse_public_key and langfuse_secret(_key) in callback_vars goes
// to that project instead of the global one (LiteLLM's per-request Langfuse
// credentials); generic_api and s3 use the global logger's settings (no
// per-request variables in LiteLLM). Other names are not implemented yet:
// ignored (LiteLLM's management API accepts any name; no config warns).

// MetadataLookup returns the logging entries of a key's metadata (by hash)
// and of a team's (internal/keys.Service.LoggingMetadata).
type MetadataLookup func(keyHash, teamID string) (key, team map[string]any)

// maxDynamicProjects bounds the Langfuse projects key and team metadata
// open senders for; beyond it their events are dropped and counted under
// dynamicOverflow.
const maxDynamicProjects = 64

const dynamicOverflow = "langfuse/overflow"

// dynamicLogging is one request's own callbacks.
type dynamicLogging struct {
	success, failure map[string]bool
	vars             map[string]string
	// owner names the settings' holder: "key:<hash prefix>" or
	// "team:<id>".
	owner string
}

func (d *dynamicLogging) wants(name string, failed bool) bool {
	if failed {
		return d.failure[name]
	}
	return d.success[name]
}

func (d *dynamicLogging) add(name, kind string) {
	if name == "s3_v2" {
		name = S3
	}
	if kind != "failure" {
		d.success[name] = true
	}
	if kind != "success" {
		d.failure[name] = true
	}
}

// setVar keeps a callback variable; an os.environ/ reference is refused, as
// LiteLLM validates key and team callback metadata.
func (d *dynamicLogging) setVar(k string, v any) {
	s, ok := v.(string)
	if !ok || strings.HasPrefix(s, "os.environ/") {
		return
	}
	d.vars[k] = s
}

func newDynamic(owner string) *dynamicLogging {
	return &dynamicLogging{success: map[string]bool{}, failure: map[string]bool{}, vars: map[string]string{}, owner: owner}
}

// dynamicOf reads a request's key- or team-based logging (nil: none set).
func dynamicOf(t *outcome.Try, key, team map[string]any) *dynamicLogging {
	if l, ok := key["logging"].([]any); ok {
		return fromLoggingList("key:"+prefix(t.KeyHash, 16), l)
	}
	if l, ok := team["logging"].([]any); ok {
		return fromLoggingList("team:"+t.TeamID, l)
	}
	if cs, ok := team["callback_settings"].(map[string]any); ok {
		d := newDynamic("team:" + t.TeamID)
		for field, kind := range map[string]string{"success_callback": "success", "failure_callback": "failure", "callbacks": ""} {
			l, _ := cs[field].([]any)
			for _, n := range l {
				if name, ok := n.(string); ok {
					d.add(name, kind)
				}
			}
		}
		if vs, ok := cs["callback_vars"].(map[string]any); ok {
			for k, v := range vs {
				d.setVar(k, v)
			}
		}
		return d
	}
	return nil
}

func fromLoggingList(owner string, l []any) *dynamicLogging {
	d := newDynamic(owner)
	for _, it := range l {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["callback_name"].(string)
		kind, _ := m["callback_type"].(string)
		if name == "" {
			continue
		}
		d.add(name, kind)
		if vs, ok := m["callback_vars"].(map[string]any); ok {
			for k, v := range vs {
				d.setVar(k, v)
			}
		}
	}
	return d
}

func prefix(s string, n int) string { return s[:min(len(s), n)] }

// langfuse returns the request's own Langfuse project (nil: none in the
// callback variables).
func (d *dynamicLogging) langfuse(s *Settings) *LangfuseSettings {
	pk, sk := d.vars["langfuse_public_key"], d.vars["langfuse_secret_key"]
	if sk == "" {
		sk = d.vars["langfuse_secret"]
	}
	if pk == "" || sk == "" {
		return nil
	}
	host := strings.TrimRight(d.vars["langfuse_host"], "/")
	if host == "" && s.Langfuse != nil {
		host = s.Langfuse.Host
	}
	if host == "" {
		host = s.DefaultLangfuseHost
	}
	return &LangfuseSettings{Host: host, PublicKey: pk, SecretKey: sk}
}

// dynamicSender returns the sender of a key's or team's Langfuse project,
// started on first use (at most maxDynamicProjects; then the overflow
// sender, which only counts). Called with m.mu held.
func (m *Manager) dynamicSender(owner string, lf *LangfuseSettings) *sender {
	name := Langfuse + "/" + owner
	if m.dynLF == nil {
		m.dynLF = map[string]*LangfuseSettings{}
	}
	if sd := m.senders[name]; sd != nil {
		if cur := m.dynLF[name]; *cur != *lf {
			m.dynLF[name] = lf // the metadata changed: new credentials from now on
		}
		return sd
	}
	if m.closed || len(m.dynLF) >= maxDynamicProjects {
		if m.senders[dynamicOverflow] == nil {
			done := make(chan struct{})
			close(done)
			m.senders[dynamicOverflow] = &sender{name: dynamicOverflow, stopped: true, done: done}
		}
		return m.senders[dynamicOverflow]
	}
	m.dynLF[name] = lf
	m.start(name, *m.settings.Load(), func(ctx context.Context, batch []outcome.Try) error {
		m.mu.Lock()
		cur := m.dynLF[name]
		m.mu.Unlock()
		return m.postLangfuseTo(ctx, m.settings.Load(), cur, batch)
	})
	return m.senders[name]
}

// encPrefix marks an encrypted callback variable (LiteLLM's litellm_enc::).
const encPrefix = "litellm_enc::"

// decrypt opens the encrypted callback variables (D74) — LiteLLM stores
// credentials as litellm_enc:: values; one that does not open is kept as
// it is, as LiteLLM passes it on.
func (d *dynamicLogging) decrypt(open func(string) (string, bool), cache *openedVars) {
	if open == nil {
		return
	}
	for k, v := range d.vars {
		if strings.HasPrefix(v, encPrefix) {
			if p, ok := cache.open(v, open); ok {
				d.vars[k] = p
				if strings.HasPrefix(p, "os.environ/") {
					delete(d.vars, k) // refused, as setVar refuses it in clear
				}
			}
		}
	}
}

// openedVars caches opened variables by their stored form (the sink reads
// a team's metadata for each of its requests; opening costs a key
// derivation and a decryption), at most maxOpened.
type openedVars struct {
	mu sync.Mutex
	m  map[string]string
}

const maxOpened = 1024

func (o *openedVars) open(v string, open func(string) (string, bool)) (string, bool) {
	o.mu.Lock()
	p, ok := o.m[v]
	o.mu.Unlock()
	if ok {
		return p, true
	}
	if p, ok = open(v); !ok {
		return "", false
	}
	o.mu.Lock()
	if o.m == nil || len(o.m) >= maxOpened {
		o.m = map[string]string{}
	}
	o.m[v] = p
	o.mu.Unlock()
	return p, true
}
