package leasedb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"

	"github.com/sharestore/sharestore"
)

// sqlPutPrefixResult stores a crawler's result for a prefix (or its
// cycle plan), replacing the one before.
const sqlPutPrefixResult = "INSERT INTO `crawler_prefix_results` VALUES (?, ?, ?, ?)" +
	" ON CONFLICT (`crawler`, `prefix`) DO UPDATE SET `cycle_id` = excluded.`cycle_id`, `json` = excluded.`json`"

// A crawler stores each prefix's result in the same transaction as the
// prefix's work, so that after a crash the result and the work agree
// exactly: a prefix whose result is committed is never redone, and one
// whose result is missing left no trace.

// PutPrefixResult records crawler's result for prefix in the cycle
// cycleID, replacing any earlier result for that prefix.
func (tx *Tx) PutPrefixResult(ctx context.Context, crawler, cycleID string, prefix sharestore.Prefix, result json.RawMessage) error {
	if err := tx.checkWritable("put prefix result"); err != nil {
		return err
	}
	_, err := tx.exec(ctx, "put prefix result", sqlPutPrefixResult, crawler, string(prefix), cycleID, string(result))
	return err
}

// PrefixResultRow is one prefix's result in one cycle, for
// PutPrefixResults.
type PrefixResultRow struct {
	Cycle  string
	Prefix sharestore.Prefix
	Result json.RawMessage
}

// PutPrefixResults stores crawler's results rows in one transaction, as
// PutPrefixResult does one at a time: each replaces the prefix's earlier
// result, and either all are stored or, on error, none. It is for results
// whose prefix's work committed before, such as prefixes settled from
// their memos. It locks only the rows it writes: on PostgreSQL it does not
// take the database's write lock, so it waits neither for a writer that
// holds that lock nor for workers storing other prefixes' results, only
// for a transaction that writes one of the same prefixes' results. On
// SQLite it is one write transaction. rows is not modified.
func (db *DB) PutPrefixResults(ctx context.Context, crawler string, rows []PrefixResultRow) error {
	if len(rows) == 0 {
		return nil
	}
	// One order for every writer, so that two batches sharing prefixes
	// cannot deadlock on their row locks.
	sorted := slices.SortedFunc(slices.Values(rows), func(a, b PrefixResultRow) int {
		return cmp.Or(cmp.Compare(a.Prefix, b.Prefix), cmp.Compare(a.Cycle, b.Cycle))
	})
	return db.updateRows(ctx, func(tx *Tx) error {
		for _, r := range sorted {
			if err := tx.PutPrefixResult(ctx, crawler, r.Cycle, r.Prefix, r.Result); err != nil {
				return err
			}
		}
		return nil
	})
}

// PrefixResult returns crawler's result for prefix if it belongs to the
// cycle cycleID; ok is false if there is none.
func (tx *Tx) PrefixResult(ctx context.Context, crawler, cycleID string, prefix sharestore.Prefix) (result json.RawMessage, ok bool, err error) {
	s, err := tx.stmt(ctx, "SELECT `json` FROM `crawler_prefix_results` WHERE `crawler` = ? AND `prefix` = ? AND `cycle_id` = ?")
	if err != nil {
		return nil, false, err
	}
	var js string
	switch err := s.QueryRowContext(ctx, crawler, string(prefix), cycleID).Scan(&js); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, tx.db.classify(err, "read prefix result")
	}
	return json.RawMessage(js), true, nil
}

// PrefixResults returns every result crawler stored for the cycle
// cycleID, keyed by prefix.
func (tx *Tx) PrefixResults(ctx context.Context, crawler, cycleID string) (map[sharestore.Prefix]json.RawMessage, error) {
	return tx.byPrefix(ctx, "read prefix results", "SELECT `prefix`, `json` FROM `crawler_prefix_results` WHERE `crawler` = ? AND `cycle_id` = ?", crawler, cycleID)
}

// byPrefix runs query, which selects (prefix, json) rows, and returns
// the JSON by prefix.
func (tx *Tx) byPrefix(ctx context.Context, op, query string, args ...any) (map[sharestore.Prefix]json.RawMessage, error) {
	rows, err := tx.query(ctx, op, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[sharestore.Prefix]json.RawMessage{}
	for rows.Next() {
		var p, js string
		if err := rows.Scan(&p, &js); err != nil {
			return nil, tx.db.classify(err, op)
		}
		out[sharestore.Prefix(p)] = json.RawMessage(js)
	}
	return out, tx.db.classify(rows.Err(), op)
}

// ClearPrefixResults removes crawler's results that do not belong to the
// cycle keepCycleID.
func (tx *Tx) ClearPrefixResults(ctx context.Context, crawler, keepCycleID string) error {
	if err := tx.checkWritable("clear prefix results"); err != nil {
		return err
	}
	_, err := tx.exec(ctx, "clear prefix results", "DELETE FROM `crawler_prefix_results` WHERE `crawler` = ? AND `cycle_id` != ?", crawler, keepCycleID)
	return err
}

// PrefixesWithShares returns the set of prefixes that have at least one
// share row, in any state.
func (tx *Tx) PrefixesWithShares(ctx context.Context) (map[sharestore.Prefix]bool, error) {
	rows, err := tx.query(ctx, "list prefixes", "SELECT DISTINCT `prefix` FROM `shares`")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[sharestore.Prefix]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, tx.db.classify(err, "list prefixes")
		}
		out[sharestore.Prefix(p)] = true
	}
	return out, tx.db.classify(rows.Err(), "list prefixes")
}

// CycleIDs returns, sorted, the distinct cycle IDs under which crawler's
// prefix results and plan are stored: the cycles the lease database
// still remembers beyond the history, such as one in progress when its
// crawler's state file was lost.
func (tx *Tx) CycleIDs(ctx context.Context, crawler string) ([]string, error) {
	rows, err := tx.query(ctx, "read cycle IDs", "SELECT DISTINCT `cycle_id` FROM `crawler_prefix_results` WHERE `crawler` IN (?, ?) ORDER BY `cycle_id`", crawler, crawler+planSuffix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, tx.db.classify(err, "read cycle IDs")
		}
		out = append(out, id)
	}
	return out, tx.db.classify(rows.Err(), "read cycle IDs")
}
