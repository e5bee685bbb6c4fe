package leasedb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/sharestore/sharestore"
)

// Dump is a canonical picture of a lease database, for golden-file tests:
// the same contents always give the same value and the same JSON. Every
// list is sorted and never nil; times are seconds since the epoch.
type Dump struct {
	SchemaVersion int           `json:"schema_version"`
	Accounts      []Account     `json:"accounts"` // by id
	Shares        []DumpShare   `json:"shares"`   // by storage_index, shnum
	Leases        []DumpLease   `json:"leases"`   // by storage_index, shnum, account_id
	History       []DumpHistory `json:"history"`  // by cycle
}

// DumpShare is one shares row (and its share_coming time, if any).
type DumpShare struct {
	StorageIndex string `json:"storage_index"`
	Shnum        int    `json:"shnum"`
	UsedSpace    int64  `json:"used_space"`
	ShareType    int    `json:"sharetype"`
	State        int    `json:"state"`
	// ComingSince is when a COMING row entered COMING; absent otherwise.
	ComingSince *int64 `json:"coming_since,omitempty"`
}

// DumpLease is one leases row. ExpirationTime is absent for a lease that
// never expires.
type DumpLease struct {
	StorageIndex   string `json:"storage_index"`
	Shnum          int    `json:"shnum"`
	AccountID      int64  `json:"account_id"`
	RenewalTime    int64  `json:"renewal_time"`
	ExpirationTime *int64 `json:"expiration_time,omitempty"`
}

// DumpHistory is one crawler_history row, its JSON in compact form.
type DumpHistory struct {
	Cycle int             `json:"cycle"`
	Entry json.RawMessage `json:"entry"`
}

// Dump reads the whole database in one snapshot. It reads raw rows, so it
// works even on rows the typed methods would refuse.
func (tx *Tx) Dump(ctx context.Context) (*Dump, error) {
	d := &Dump{Shares: []DumpShare{}, Leases: []DumpLease{}, History: []DumpHistory{}}
	var err error
	if d.Accounts, err = tx.Accounts(ctx); err != nil {
		return nil, err
	}
	if err := tx.scanAll(ctx, "SELECT `version` FROM `version`", func(r *sql.Rows) error {
		return r.Scan(&d.SchemaVersion)
	}); err != nil {
		return nil, err
	}
	if err := tx.scanAll(ctx, "SELECT s.`storage_index`, s.`shnum`, s.`used_space`, s.`sharetype`, s.`state`, c.`coming_since`"+
		" FROM `shares` s LEFT JOIN `share_coming` c ON c.`storage_index` = s.`storage_index` AND c.`shnum` = s.`shnum`"+
		" ORDER BY s.`storage_index`, s.`shnum`", func(r *sql.Rows) error {
		var (
			s  DumpShare
			cs sql.NullInt64
		)
		if err := r.Scan(&s.StorageIndex, &s.Shnum, &s.UsedSpace, &s.ShareType, &s.State, &cs); err != nil {
			return err
		}
		if cs.Valid {
			s.ComingSince = &cs.Int64
		}
		d.Shares = append(d.Shares, s)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := tx.scanAll(ctx, "SELECT "+sqlLeaseCols+" FROM `leases` ORDER BY `storage_index`, `shnum`, `account_id`", func(r *sql.Rows) error {
		var (
			l   DumpLease
			exp sql.NullInt64
		)
		if err := r.Scan(&l.StorageIndex, &l.Shnum, &l.AccountID, &l.RenewalTime, &exp); err != nil {
			return err
		}
		if exp.Valid {
			l.ExpirationTime = &exp.Int64
		}
		d.Leases = append(d.Leases, l)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := tx.scanAll(ctx, "SELECT `cycle`, `json` FROM `crawler_history` WHERE `cycle` IS NOT NULL ORDER BY `cycle`", func(r *sql.Rows) error {
		var (
			h DumpHistory
			j sql.NullString
		)
		if err := r.Scan(&h.Cycle, &j); err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(j.String)); err != nil {
			return sharestore.Errorf(sharestore.ErrCorrupt, "leasedb %s: history entry for cycle %d is not JSON", tx.db.path, h.Cycle)
		}
		h.Entry = buf.Bytes()
		d.History = append(d.History, h)
		return nil
	}); err != nil {
		return nil, err
	}
	return d, nil
}

func (tx *Tx) scanAll(ctx context.Context, query string, fn func(*sql.Rows) error) error {
	rows, err := tx.query(ctx, "dump", query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return tx.db.classify(err, "dump")
		}
	}
	return tx.db.classify(rows.Err(), "dump")
}

// The read methods of DB each run in their own read-only snapshot on the
// reader pool, so they never wait for a writer and see only committed
// state. Their contracts are those of the Tx methods of the same name.

func view[T any](ctx context.Context, db *DB, fn func(*Tx) (T, error)) (T, error) {
	var out T
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

// LookupShare is Tx.LookupShare on the last committed state.
func (db *DB) LookupShare(ctx context.Context, si sharestore.StorageIndex, shnum int) (Share, error) {
	return view(ctx, db, func(tx *Tx) (Share, error) { return tx.LookupShare(ctx, si, shnum) })
}

// SharesForPrefix is Tx.SharesForPrefix on the last committed state.
func (db *DB) SharesForPrefix(ctx context.Context, prefix sharestore.Prefix) ([]Share, error) {
	return view(ctx, db, func(tx *Tx) ([]Share, error) { return tx.SharesForPrefix(ctx, prefix) })
}

// UnleasedSharesForPrefix is Tx.UnleasedSharesForPrefix on the last
// committed state.
func (db *DB) UnleasedSharesForPrefix(ctx context.Context, prefix sharestore.Prefix) ([]Share, error) {
	return view(ctx, db, func(tx *Tx) ([]Share, error) { return tx.UnleasedSharesForPrefix(ctx, prefix) })
}

// StaleComing is Tx.StaleComing on the last committed state.
func (db *DB) StaleComing(ctx context.Context, olderThan time.Time) ([]Share, error) {
	return view(ctx, db, func(tx *Tx) ([]Share, error) { return tx.StaleComing(ctx, olderThan) })
}

// LeasesForPrefix is Tx.LeasesForPrefix on the last committed state.
func (db *DB) LeasesForPrefix(ctx context.Context, prefix sharestore.Prefix) ([]Lease, error) {
	return view(ctx, db, func(tx *Tx) ([]Lease, error) { return tx.LeasesForPrefix(ctx, prefix) })
}

// LeaseAges is Tx.LeaseAges on the last committed state.
func (db *DB) LeaseAges(ctx context.Context, prefix sharestore.Prefix, now time.Time) (map[sharestore.ShareID][]time.Duration, error) {
	return view(ctx, db, func(tx *Tx) (map[sharestore.ShareID][]time.Duration, error) { return tx.LeaseAges(ctx, prefix, now) })
}

// Leases is Tx.Leases on the last committed state.
func (db *DB) Leases(ctx context.Context, si sharestore.StorageIndex) ([]Lease, error) {
	return view(ctx, db, func(tx *Tx) ([]Lease, error) { return tx.Leases(ctx, si) })
}

// LeaseCount is Tx.LeaseCount on the last committed state.
func (db *DB) LeaseCount(ctx context.Context, si sharestore.StorageIndex, shnum int) (int, error) {
	return view(ctx, db, func(tx *Tx) (int, error) { return tx.LeaseCount(ctx, si, shnum) })
}

// History is Tx.History on the last committed state.
func (db *DB) History(ctx context.Context) (map[int]json.RawMessage, error) {
	return view(ctx, db, func(tx *Tx) (map[int]json.RawMessage, error) { return tx.History(ctx) })
}

// Stats is Tx.Stats on the last committed state.
func (db *DB) Stats(ctx context.Context) (Stats, error) {
	return view(ctx, db, func(tx *Tx) (Stats, error) { return tx.Stats(ctx) })
}

// Accounts is Tx.Accounts on the last committed state.
func (db *DB) Accounts(ctx context.Context) ([]Account, error) {
	return view(ctx, db, func(tx *Tx) ([]Account, error) { return tx.Accounts(ctx) })
}

// Dump is Tx.Dump on the last committed state.
func (db *DB) Dump(ctx context.Context) (*Dump, error) {
	return view(ctx, db, func(tx *Tx) (*Dump, error) { return tx.Dump(ctx) })
}
