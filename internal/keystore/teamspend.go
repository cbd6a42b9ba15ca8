package keystore

import (
	"context"
	"fmt"
)

// TeamSpendStore sums spend per team.
type TeamSpendStore interface {
	// SpendByTeam sums the spend of the logs f selects (f.Limit ignored)
	// per team_id ("" for the logs of no team), as LiteLLM's spend report
	// query groups them (before naming each team by its alias).
	SpendByTeam(ctx context.Context, f SpendLogFilter) (map[string]float64, error)
}

func (e *Embedded) SpendByTeam(ctx context.Context, f SpendLogFilter) (map[string]float64, error) {
	f.Limit = int(^uint(0) >> 1)
	logs, err := e.SpendLogsWhere(ctx, f)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for i := range logs {
		out[logs[i].TeamID] += logs[i].Spend
	}
	return out, nil
}

func (p *Postgres) SpendByTeam(ctx context.Context, f SpendLogFilter) (map[string]float64, error) {
	rows, err := p.pool.Query(ctx, `SELECT COALESCE(team_id, ''), COALESCE(SUM(spend), 0) FROM "LiteLLM_SpendLogs" `+spendLogsWhere+` GROUP BY 1`, f.pgArgs()...)
	if err != nil {
		return nil, fmt.Errorf("key store: spend by team: %w", err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var team string
		var spend float64
		if err := rows.Scan(&team, &spend); err != nil {
			return nil, fmt.Errorf("key store: spend by team: %w", err)
		}
		out[team] += spend
	}
	return out, rows.Err()
}
