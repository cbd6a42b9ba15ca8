package keystore

import (
	"context"
	"fmt"
)

// TagSpend is the spend of the logs carrying one request tag (D78).
type TagSpend struct {
	Count int64
	Spend float64
}

// TagSpendStore sums spend per request tag.
type TagSpendStore interface {
	// SpendByTag sums the spend and counts the logs f selects (f.Limit
	// ignored) per tag of their request_tags (a log with two tags counts for
	// each), as LiteLLM's get_spend_by_tags.
	SpendByTag(ctx context.Context, f SpendLogFilter) (map[string]TagSpend, error)
}

func (e *Embedded) SpendByTag(ctx context.Context, f SpendLogFilter) (map[string]TagSpend, error) {
	f.Limit = int(^uint(0) >> 1)
	logs, err := e.SpendLogsWhere(ctx, f)
	if err != nil {
		return nil, err
	}
	out := map[string]TagSpend{}
	for i := range logs {
		for _, tag := range logs[i].RequestTags {
			ts := out[tag]
			ts.Count++
			ts.Spend += logs[i].Spend
			out[tag] = ts
		}
	}
	return out, nil
}

func (p *Postgres) SpendByTag(ctx context.Context, f SpendLogFilter) (map[string]TagSpend, error) {
	rows, err := p.pool.Query(ctx, `SELECT tag, COUNT(*), COALESCE(SUM(spend), 0)
		FROM "LiteLLM_SpendLogs", jsonb_array_elements_text(CASE WHEN jsonb_typeof(request_tags) = 'array' THEN request_tags ELSE '[]'::jsonb END) AS tag
		`+spendLogsWhere+` GROUP BY 1`, f.pgArgs()...)
	if err != nil {
		return nil, fmt.Errorf("key store: spend by tag: %w", err)
	}
	defer rows.Close()
	out := map[string]TagSpend{}
	for rows.Next() {
		var tag string
		var ts TagSpend
		if err := rows.Scan(&tag, &ts.Count, &ts.Spend); err != nil {
			return nil, fmt.Errorf("key store: spend by tag: %w", err)
		}
		out[tag] = ts
	}
	return out, rows.Err()
}
