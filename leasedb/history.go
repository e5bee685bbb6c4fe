package leasedb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"

	"github.com/sharestore/sharestore"
)

// AddHistoryEntry stores entry, a JSON document, as the history of crawler
// cycle cycle (replacing any entry for that cycle) and then keeps only the
// keep newest cycles, as Tahoe's add_history_entry does with
// retained_history_entries (DefaultRetainedHistory). The entry is stored in
// compact form. Invalid JSON or keep < 1 fails with
// sharestore.ErrInvalidArgument.
func (tx *Tx) AddHistoryEntry(ctx context.Context, cycle int, entry json.RawMessage, keep int) error {
	if err := tx.checkWritable("add history entry"); err != nil {
		return err
	}
	if keep < 1 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "leasedb: history: keep %d must be at least 1", keep)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, entry); err != nil {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "leasedb: history entry for cycle %d is not JSON: %v", cycle, err)
	}
	if _, err := tx.exec(ctx, "add history entry",
		"INSERT INTO `crawler_history` (`cycle`, `json`) VALUES (?, ?) ON CONFLICT (`cycle`) DO UPDATE SET `json` = excluded.`json`",
		cycle, buf.String()); err != nil {
		return err
	}
	_, err := tx.exec(ctx, "add history entry",
		"DELETE FROM `crawler_history` WHERE `cycle` IS NULL OR `cycle` NOT IN"+
			" (SELECT `cycle` FROM `crawler_history` WHERE `cycle` IS NOT NULL ORDER BY `cycle` DESC LIMIT ?)", keep)
	return err
}

// History returns the stored cycle histories, keyed by cycle number (an
// empty map when there are none).
func (tx *Tx) History(ctx context.Context) (map[int]json.RawMessage, error) {
	rows, err := tx.query(ctx, "history", "SELECT `cycle`, `json` FROM `crawler_history` WHERE `cycle` IS NOT NULL ORDER BY `cycle`")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int]json.RawMessage)
	for rows.Next() {
		var (
			c int
			j sql.NullString
		)
		if err := rows.Scan(&c, &j); err != nil {
			return nil, tx.db.classify(err, "history")
		}
		if !json.Valid([]byte(j.String)) {
			return nil, sharestore.Errorf(sharestore.ErrCorrupt, "leasedb %s: history entry for cycle %d is not JSON", tx.db.path, c)
		}
		out[c] = json.RawMessage(j.String)
	}
	return out, tx.db.classify(rows.Err(), "history")
}

// Stats are the leasedb statistics of Tahoe's ticket 1836. Their JSON
// keys are kebab-case, as in Tahoe's status JSON.
type Stats struct {
	// LeasedShares is the number of share rows, in any state, with at least
	// one lease.
	LeasedShares int64 `json:"leased-shares"`
	// LeasedBytes is the sum of used_space over those shares, in bytes.
	LeasedBytes int64 `json:"leased-bytes"`
	// Sharesets is the number of distinct storage indexes over all share
	// rows, leased or not.
	Sharesets int64 `json:"sharesets"`
}

// Stats returns the statistics. An empty database gives all zeros.
func (tx *Tx) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	rows, err := tx.query(ctx, "stats",
		"SELECT count(*), coalesce(sum(s.`used_space`), 0) FROM `shares` s WHERE EXISTS"+
			" (SELECT 1 FROM `leases` l WHERE l.`storage_index` = s.`storage_index` AND l.`shnum` = s.`shnum`)")
	if err != nil {
		return st, err
	}
	for rows.Next() {
		if err := rows.Scan(&st.LeasedShares, &st.LeasedBytes); err != nil {
			rows.Close()
			return st, tx.db.classify(err, "stats")
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, tx.db.classify(err, "stats")
	}
	rows, err = tx.query(ctx, "stats", "SELECT count(DISTINCT `storage_index`) FROM `shares`")
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&st.Sharesets); err != nil {
			return st, tx.db.classify(err, "stats")
		}
	}
	return st, tx.db.classify(rows.Err(), "stats")
}

// Account is one row of the accounts table.
type Account struct {
	ID           int64  `json:"id"`
	PubkeyVS     string `json:"pubkey_vs"`
	CreationTime int64  `json:"creation_time"`
}

// Accounts returns every account, ordered by id. A fresh database has
// exactly {0, "anonymous", 0} and {1, "starter", 0}.
func (tx *Tx) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := tx.query(ctx, "accounts", "SELECT `id`, `pubkey_vs`, `creation_time` FROM `accounts` ORDER BY `id`")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Account{}
	for rows.Next() {
		var (
			a  Account
			pk sql.NullString
			ct sql.NullInt64
		)
		if err := rows.Scan(&a.ID, &pk, &ct); err != nil {
			return nil, tx.db.classify(err, "accounts")
		}
		a.PubkeyVS, a.CreationTime = pk.String, ct.Int64
		out = append(out, a)
	}
	return out, tx.db.classify(rows.Err(), "accounts")
}
