package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/keystore"
)

// DataDirEnv names the data directory when --data-dir is not given.
const DataDirEnv = "LLMGATE_DATA_DIR"

// dataDir is where the embedded key store and the spend write-ahead file
// live: --data-dir, else $LLMGATE_DATA_DIR, else ~/.llmgate.
func dataDir(o Options) string {
	if o.DataDir != "" {
		return o.DataDir
	}
	if d := os.Getenv(DataDirEnv); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".llmgate")
	}
	return ".llmgate"
}

// openKeys starts the virtual key service when the config has a master key
// (virtual keys need an admin to issue them) or a database_url: PostgreSQL
// with database_url, else the embedded store under the data directory.
func (g *Gateway) openKeys(ctx context.Context, cfg *config.Config) (*keys.Service, error) {
	gs := cfg.General
	if gs.MasterKey == "" && gs.DatabaseURL == "" {
		return nil, nil
	}
	dir := dataDir(g.o)
	var ks keystore.Store
	var err error
	if gs.DatabaseURL != "" {
		ks, err = keystore.OpenPostgresWith(ctx, gs.DatabaseURL, keystore.PostgresOptions{Tracer: g.serviceHooks.Postgres(),
			PoolLimit: gs.DatabasePoolLimit, Timeout: gs.DatabaseTimeout})
		if err != nil {
			// The error may quote the URL: name the setting, not its value.
			return nil, fmt.Errorf("general_settings.database_url: cannot open the database (%s)", redactDSN(err.Error(), gs.DatabaseURL))
		}
	} else if ks, err = keystore.OpenEmbedded(filepath.Join(dir, "keys")); err != nil {
		return nil, fmt.Errorf("virtual keys (general_settings.master_key) need a writable data directory: --data-dir or $%s (%w)", DataDirEnv, err)
	}
	o := keys.Options{Store: ks, Counters: g.store, CacheTTL: gs.UserAPIKeyCacheTTL, BatchWriteAt: gs.ProxyBatchWriteAt,
		WALDir: filepath.Join(dir, "spend"), DisableSpendLogs: gs.DisableSpendLogs, Log: g.log,
		CallerSpendLogs: gs.DatabaseURL != "",
		GracePeriod:     os.Getenv(keys.GracePeriodEnv)}
	if r, ok := sharedRedis(g.store); ok {
		o.Notifier = keys.RedisNotifier{C: r.Client()}
		o.Windows = keys.RedisWindows{C: r.Client()} // per-model budget windows shared (D73)
	}
	svc, err := keys.New(ctx, o)
	if err != nil {
		ks.Close()
		return nil, err
	}
	g.keys, g.keyStore = svc, ks
	g.log.Info("virtual keys", "store", storeKind(gs.DatabaseURL), "data_dir", dir)
	return svc, nil
}

// closeKeys writes the pending spend and closes the store.
func (g *Gateway) closeKeys() {
	if g.keys == nil {
		return
	}
	if err := g.keys.Close(); err != nil {
		g.log.Warn("spend not written at shutdown; it stays in the write-ahead file for the next start", "error", err.Error())
	}
	g.closeAuditLogs()
	g.keyStore.Close()
}

func storeKind(url string) string {
	if url != "" {
		return "postgresql"
	}
	return "embedded"
}

func redactDSN(msg, dsn string) string {
	if dsn == "" {
		return msg
	}
	return strings.ReplaceAll(msg, dsn, "<database_url>")
}

// accessGroups maps each model_info.access_groups name to the model groups
// with a deployment in it.
func accessGroups(cfg *config.Config) map[string][]string {
	out := map[string][]string{}
	for _, d := range cfg.Models {
		for _, g := range d.Info.AccessGroups {
			if !slices.Contains(out[g], d.ModelName) {
				out[g] = append(out[g], d.ModelName)
			}
		}
	}
	return out
}

// keyModelDefaults maps each model group with a deployment setting
// default_api_key_rpm_limit or default_api_key_tpm_limit to the smallest of
// each over its deployments (LiteLLM's _get_deployment_default_limit).
func keyModelDefaults(cfg *config.Config) map[string]keys.ModelLimits {
	var out map[string]keys.ModelLimits
	low := func(cur, v int64) int64 {
		if v > 0 && (cur == 0 || v < cur) {
			return v
		}
		return cur
	}
	for _, d := range cfg.Models {
		p := d.Params
		if p.DefaultKeyRPMLimit == 0 && p.DefaultKeyTPMLimit == 0 {
			continue
		}
		if out == nil {
			out = map[string]keys.ModelLimits{}
		}
		l := out[d.ModelName]
		l.RPM, l.TPM = low(l.RPM, p.DefaultKeyRPMLimit), low(l.TPM, p.DefaultKeyTPMLimit)
		out[d.ModelName] = l
	}
	return out
}
