package leasedb

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sharestore/sharestore"
)

// sqliteEngine is a lease database in a SQLite file (see the package
// documentation). Its queries are the package's own; a write transaction
// holds the file's write lock from BEGIN IMMEDIATE (the writer
// connection's _txlock), so startWrite has nothing to do.
type sqliteEngine struct{}

func (sqliteEngine) rebind(q string) string { return q }

func (sqliteEngine) ddl(s string) string { return s }

func (sqliteEngine) startWrite(context.Context, *sql.Tx) error { return nil }

// rowLock is empty: a write transaction holds the whole file.
func (sqliteEngine) rowLock(bool) string { return "" }

func (sqliteEngine) readOptions() *sql.TxOptions { return &sql.TxOptions{ReadOnly: true} }

func (sqliteEngine) classify(db *DB, err error, op string) error {
	var le *sqlite.Error
	if !errors.As(err, &le) {
		return nil
	}
	switch le.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return sharestore.Wrap(sharestore.ErrUnavailable, err, "leasedb "+db.path+": "+op)
	case sqlite3.SQLITE_CONSTRAINT:
		return sharestore.Wrap(sharestore.ErrConflict, err, "leasedb "+db.path+": "+op)
	case sqlite3.SQLITE_NOTADB:
		return damaged(db.path, "file is not a database")
	case sqlite3.SQLITE_CORRUPT:
		return damaged(db.path, "database disk image is malformed")
	}
	return nil
}

func (sqliteEngine) failureAbortsTx() bool { return false }

func (sqliteEngine) isForeignKey(err error) bool {
	var le *sqlite.Error
	return errors.As(err, &le) && le.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func (sqliteEngine) name() string { return "SQLite" }

func (sqliteEngine) damaged(db *DB, what string) error { return damaged(db.path, what) }

// init creates or checks the schema and turns on WAL mode. It is careful to
// read before it writes, so a file that turns out not to be a lease
// database is never modified.
func (e sqliteEngine) init(ctx context.Context, db *DB) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return db.classify(err, "open")
	}
	defer conn.Close()

	// Read-only probe: is this an empty file, or which version is it?
	if _, err := e.inspect(ctx, db, conn); err != nil {
		return err
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return db.classify(err, "set WAL mode")
	}
	if !strings.EqualFold(mode, "wal") {
		return sharestore.Errorf(sharestore.ErrInternal, "leasedb %s: cannot turn on WAL mode (journal_mode is %q)", db.path, mode)
	}

	// Create or migrate under the write lock. Another process may have
	// done it meanwhile, so look again inside the transaction.
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see _txlock)
	if err != nil {
		return db.classify(err, "begin")
	}
	defer tx.Rollback()
	version, err := e.inspect(ctx, db, tx)
	if err != nil {
		return err
	}
	if version != SchemaVersion {
		if err := db.migrate(ctx, tx, version, schemaV1); err != nil {
			return err
		}
	}
	if err := db.ensureChangeTracking(ctx, tx, e.tracking, sqliteTriggers); err != nil {
		return err
	}
	return db.classify(tx.Commit(), "commit schema")
}

// inspect is checkVersion with the catalog read from sqlite_master.
func (sqliteEngine) inspect(ctx context.Context, db *DB, q interface {
	queryRower
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) (int, error) {
	var c catalog
	var n int
	if err := q.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		return 0, db.classify(err, "read schema")
	}
	c.empty = n == 0
	rows, err := q.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		return 0, db.classify(err, "read schema")
	}
	if c.tables, err = db.tableNames(rows); err != nil {
		return 0, err
	}
	return db.checkVersion(ctx, q, c)
}

// tracking counts the change-tracking tables and triggers that exist.
func (sqliteEngine) tracking(ctx context.Context, tx execer) (tables, triggers int, err error) {
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('prefix_changes', 'crawler_prefix_memos')").Scan(&tables); err != nil {
		return 0, 0, err
	}
	err = tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'prefix\\_changes\\_%' ESCAPE '\\'").Scan(&triggers)
	return tables, triggers, err
}
