package leasedb

import (
	"context"
	"strings"
	"time"

	"github.com/sharestore/sharestore"
)

// Forecast is what a policy would make collectable, counted before any
// lease is removed.
type Forecast struct {
	// Shares is how many share rows the database holds, in any state.
	Shares int64
	// Unleased is how many STABLE, non-corrupt shares would have no
	// lease left once the leases that the policy expires are gone: the
	// most a cycle under that policy can delete (shares not yet in the
	// database get a starter lease, and corrupt shares are never
	// deleted). GOING rows, left by an interrupted delete, are counted
	// too.
	Unleased int64
}

// Percent returns Unleased as a percentage of Shares (0 for an empty
// database).
func (f Forecast) Percent() float64 {
	if f.Shares == 0 {
		return 0
	}
	return 100 * float64(f.Unleased) / float64(f.Shares)
}

// DeletionForecast counts, in one read, how many shares would be left
// without a lease if p's expired leases were removed at now. It changes
// nothing. A disabled policy expires nothing, so only shares that have no
// lease at all count.
func (tx *Tx) DeletionForecast(ctx context.Context, p ExpirationPolicy, now time.Time) (Forecast, error) {
	return tx.forecast(ctx, p, now, "")
}

// DeletionForecastOf is DeletionForecast for the shares of one prefix:
// Shares counts its rows, Unleased its rows that would have no lease.
func (tx *Tx) DeletionForecastOf(ctx context.Context, p ExpirationPolicy, now time.Time, prefix sharestore.Prefix) (Forecast, error) {
	return tx.forecast(ctx, p, now, prefix)
}

// forecast is DeletionForecast over every share, or over prefix's.
func (tx *Tx) forecast(ctx context.Context, p ExpirationPolicy, now time.Time, prefix sharestore.Prefix) (Forecast, error) {
	var f Forecast
	if err := p.Validate(); err != nil {
		return f, err
	}
	surviving := "TRUE"
	var args []any
	if p.Enabled {
		cond, cutoff := p.expiredClause(now)
		surviving, args = "NOT ("+cond+")", []any{cutoff}
	}
	var in string
	var inArgs []any
	if prefix != "" {
		lo, hi := string(prefix), string(prefix)+"~"
		in, inArgs = " AND `storage_index` >= ? AND `storage_index` < ?", []any{lo, hi}
	}
	q := "SELECT (SELECT count(*) FROM `shares` WHERE TRUE" + in + "), count(*) FROM `shares` AS s WHERE " +
		"(s.`state` = ? AND s.`sharetype` != ? OR s.`state` = ?)" + strings.ReplaceAll(in, "`storage_index`", "s.`storage_index`") + " AND NOT EXISTS " +
		"(SELECT 1 FROM `leases` WHERE `leases`.`storage_index` = s.`storage_index` AND `leases`.`shnum` = s.`shnum` AND " + surviving + ")"
	all := append([]any{}, inArgs...)
	all = append(all, int(StateStable), int(sharestore.ShareTypeCorrupt), int(StateGoing))
	all = append(all, inArgs...)
	all = append(all, args...)
	rows, err := tx.query(ctx, "forecast deletions", q, all...)
	if err != nil {
		return f, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&f.Shares, &f.Unleased); err != nil {
			return f, tx.db.classify(err, "forecast deletions")
		}
	}
	return f, tx.db.classify(rows.Err(), "forecast deletions")
}
