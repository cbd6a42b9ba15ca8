package keystore

import (
	"context"
	"fmt"
)

// SpendCountStore sums spend and counts logs per column (D146: LiteLLM's
// /global/spend/end_users counts each end user's requests).
type SpendCountStore interface {
	// SpendCountBy is SpendBy with each group's log count.
	SpendCountBy(ctx context.Context, f SpendLogFilter, by string) (map[string]TagSpend, error)
}

func (e *Embedded) SpendCountBy(ctx context.Context, f SpendLogFilter, by string) (map[string]TagSpend, error) {
	if _, ok := spendByColumn[by]; !ok {
		return nil, fmt.Errorf("key store: spend by %q", by)
	}
	f.Limit = int(^uint(0) >> 1)
	logs, err := e.SpendLogsWhere(ctx, f)
	if err != nil {
		return nil, err
	}
	out := map[string]TagSpend{}
	for i := range logs {
		k := spendKey(&logs[i], by)
		ts := out[k]
		ts.Count++
		ts.Spend += logs[i].Spend
		out[k] = ts
	}
	return out, nil
}

func (p *Postgres) SpendCountBy(ctx context.Context, f SpendLogFilter, by string) (map[string]TagSpend, error) {
	col, ok := spendByColumn[by]
	if !ok {
		return nil, fmt.Errorf("key store: spend by %q", by)
	}
	rows, err := p.pool.Query(ctx, `SELECT `+col+` AS k, COUNT(*), COALESCE(SUM(spend), 0) FROM "LiteLLM_SpendLogs"
		`+spendLogsWhere+` GROUP BY 1`, f.pgArgs()...)
	if err != nil {
		return nil, fmt.Errorf("key store: spend by %s: %w", by, err)
	}
	defer rows.Close()
	out := map[string]TagSpend{}
	for rows.Next() {
		var k string
		var ts TagSpend
		if err := rows.Scan(&k, &ts.Count, &ts.Spend); err != nil {
			return nil, fmt.Errorf("key store: spend by %s: %w", by, err)
		}
		prev := out[k]
		out[k] = TagSpend{Count: prev.Count + ts.Count, Spend: prev.Spend + ts.Spend}
	}
	return out, rows.Err()
}
