package leasedb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sharestore/sharestore"
)

// copiedTable is a table that Copy moves, with its columns in the order
// it reads and writes them, and the key it reads them in.
type copiedTable struct {
	name  string
	cols  []string
	order string
}

// copiedTables are every table of the schema that holds data, parents
// before the tables that refer to them. The change-tracking tables are
// derived and are not copied: the destination's generations start anew,
// and a crawler's memos, which are only a short cut, are rebuilt by its
// next cycle.
var copiedTables = []copiedTable{
	{"accounts", []string{"id", "pubkey_vs", "creation_time"}, "id"},
	{"account_attributes", []string{"id", "account_id", "name", "value"}, "id"},
	{"shares", []string{"storage_index", "shnum", "prefix", "backend_key", "used_space", "sharetype", "state"}, "storage_index, shnum"},
	{"share_coming", []string{"storage_index", "shnum", "coming_since"}, "storage_index, shnum"},
	{"leases", []string{"storage_index", "shnum", "account_id", "renewal_time", "expiration_time"}, "storage_index, shnum, account_id"},
	{"crawler_history", []string{"cycle", "json"}, "cycle"},
	{"crawler_prefix_results", []string{"crawler", "prefix", "cycle_id", "json"}, "crawler, prefix"},
}

// CopyCounts is how many rows Copy wrote, by table.
type CopyCounts map[string]int64

// Copy copies every row of src into dst, which must hold no data: no
// share, lease, history, prefix result or account attribute, and no
// account but the two every database has (anonymous and starter), or it
// fails with sharestore.ErrConflict and writes nothing. src is read in
// one snapshot and dst written in one transaction, so dst ends with all
// of src or with nothing. The engines may differ (SQLite to PostgreSQL,
// or back); Dump gives the same result on both after the copy. The
// change-tracking generations and the crawlers' prefix memos are not
// copied (see the package documentation): they are derived.
func Copy(ctx context.Context, dst, src *DB) (CopyCounts, error) {
	counts := CopyCounts{}
	err := src.View(ctx, func(stx *Tx) error {
		return dst.Update(ctx, func(dtx *Tx) error {
			if err := dtx.checkEmpty(ctx); err != nil {
				return err
			}
			for _, t := range copiedTables {
				n, err := copyTable(ctx, dtx, stx, t)
				if err != nil {
					return err
				}
				counts[t.name] = n
			}
			return dtx.db.eng.afterCopy(ctx, dtx.tx)
		})
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// checkEmpty refuses a database that holds data (see Copy).
func (tx *Tx) checkEmpty(ctx context.Context) error {
	for _, t := range copiedTables {
		q := "SELECT count(*) FROM `" + t.name + "`"
		if t.name == "accounts" {
			q += " WHERE `id` NOT IN (0, 1)"
		}
		rows, err := tx.query(ctx, "check the destination is empty", q)
		if err != nil {
			return err
		}
		var n int64
		if rows.Next() {
			err = rows.Scan(&n)
		}
		rows.Close()
		if err != nil {
			return tx.db.classify(err, "check the destination is empty")
		}
		if n > 0 {
			return sharestore.Errorf(sharestore.ErrConflict,
				"leasedb %s: the destination is not empty: its %s table has %d rows; copy into a new, empty lease database", tx.db.path, t.name, n)
		}
	}
	return nil
}

// copyTable copies table t from stx to dtx in batches of bulkRows rows,
// skipping the seeded accounts, which dst has already. It returns the
// number of rows written.
func copyTable(ctx context.Context, dtx, stx *Tx, t copiedTable) (int64, error) {
	q := "SELECT `" + strings.Join(t.cols, "`, `") + "` FROM `" + t.name + "`"
	if t.name == "accounts" {
		q += " WHERE `id` NOT IN (0, 1)"
	}
	q += " ORDER BY " + t.order
	rows, err := stx.query(ctx, "read "+t.name, q)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	batch := make([]any, 0, bulkRows*len(t.cols))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		k := len(batch) / len(t.cols)
		if _, err := dtx.exec(ctx, "write "+t.name, insertRows(t, k), batch...); err != nil {
			return err
		}
		n += int64(k)
		batch = batch[:0]
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(t.cols))
		ptrs := make([]any, len(t.cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, stx.db.classify(err, "read "+t.name)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok { // a driver's text as bytes
				vals[i] = string(b)
			}
		}
		batch = append(batch, vals...)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, stx.db.classify(err, "read "+t.name)
	}
	return n, flush()
}

// insertRows is the statement that inserts k rows into t.
func insertRows(t copiedTable, k int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
	return fmt.Sprintf("INSERT INTO `%s` (`%s`) VALUES %s", t.name, strings.Join(t.cols, "`, `"),
		strings.TrimSuffix(strings.Repeat(row+", ", k), ", "))
}

// afterCopy, for SQLite, has nothing to do: an AUTOINCREMENT key
// continues after the largest one inserted.
func (sqliteEngine) afterCopy(context.Context, *sql.Tx) error { return nil }

// afterCopy moves the identity columns past the ids Copy inserted, so
// that a later insert without an id does not collide with one.
func (*postgresEngine) afterCopy(ctx context.Context, tx *sql.Tx) error {
	for _, t := range []string{"accounts", "account_attributes"} {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(
			`SELECT setval(pg_get_serial_sequence('"%s"', 'id'), greatest((SELECT max("id") FROM "%s"), 1))`, t, t)); err != nil {
			return err
		}
	}
	return nil
}
