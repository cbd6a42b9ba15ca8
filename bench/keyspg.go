package bench

import (
	"fmt"
	"strconv"
	"time"

	"github.com/llmgate/llmgate/internal/pgserver"
)

// The llmgate-keys-pg target (issue 11, D123): the llmgate-keys target with
// general_settings.database_url, so its keys, spend and spend logs are in
// PostgreSQL — a durable one (fsync on) on the system under test's CPU, as a
// gateway's database on the same machine would be. Its figures against
// llmgate-keys (the embedded store) say whether any request waits on the
// database: key checks are read from memory and spend is written in
// batches off the request path (D33, D38).
const keysPGDesc = "llmgate-keys with general_settings.database_url: keys, spend and spend logs in PostgreSQL (fsync on, on the system under test's CPU), written in batches off the request path (issue 11, D123)"

// KeysPGConfig is the typical config with its store in PostgreSQL.
func KeysPGConfig(fakeURL, dbURL string) string {
	return TypicalConfig(fakeURL, "") + "  database_url: " + strconv.Quote(dbURL) + "\n"
}

// StartPostgres runs a durable PostgreSQL on the system under test's CPU
// and creates the bench's database; Close stops it.
func StartPostgres(o *Options) (*pgserver.Server, string, error) {
	s, err := pgserver.Start(pgserver.Options{Durable: true, Wrap: o.Pin.command(o.Pin.SUTCPU, nil)})
	if err != nil {
		return nil, "", err
	}
	url, err := s.CreateDatabase("llmgate_bench")
	if err != nil {
		s.Close()
		return nil, "", err
	}
	return s, url, nil
}

// countSpendLogs is the number of LiteLLM_SpendLogs rows in the database
// after wait (the targets are stopped first: a stopping gateway writes its
// last batch).
func countSpendLogs(s *pgserver.Server, url string, wait time.Duration) (int64, error) {
	time.Sleep(wait)
	out, err := s.Exec(url, `SELECT count(*) FROM "LiteLLM_SpendLogs"`)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(out, 10, 64)
}

// keysPGChecks: llmgate-keys-pg against llmgate-keys (the same keys and
// requests, the embedded store) in the same runs — ≤ 0.1 ms p50 added at the
// lowest concurrency and ≤ 5 % throughput lost at the highest mean no
// request waited on PostgreSQL; the spend logs it wrote are stated.
func (r *Report) keysPGChecks() []Check {
	lo, top := r.lowConc(), r.topConc()
	pg := r.Target("llmgate-keys-pg")
	var logs int64
	if pg != nil {
		logs = pg.SpendLogs
	}
	return r.overheadChecks(pg, r.Target("llmgate-keys"),
		fmt.Sprintf("Keys in PostgreSQL add ≤ 0.1 ms p50 at concurrency %d over the embedded store: no request waits on the database (issue 11)", lo),
		fmt.Sprintf("Keys in PostgreSQL lose ≤ 5%% throughput at concurrency %d against the embedded store, spend logs written meanwhile (issue 11)", top),
		fmt.Sprintf("; %d spend logs in PostgreSQL at the end", logs), logs > 0)
}
