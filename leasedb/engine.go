package leasedb

import (
	"context"
	"database/sql"
)

// engine is what differs between the database engines a DB runs on:
// SQLite, in a file, and PostgreSQL, on a server. Every query of the
// state machine is written once, in SQLite's dialect, and passes through
// rebind; the schema's creation and checks, the locking of write
// transactions and the reading of driver errors are the engine's.
type engine interface {
	// name is the engine's name, for messages: "SQLite" or "PostgreSQL".
	name() string
	// rebind translates a query of this package into the engine's
	// dialect.
	rebind(query string) string
	// ddl translates a statement that creates a table or an index,
	// written for SQLite, into the engine's dialect.
	ddl(stmt string) string
	// init creates the schema in an empty database, migrates an older
	// one, or checks it, and creates what change tracking is missing. It
	// runs when the DB opens, on the writer pool, and writes nothing to a
	// database that is not a lease database.
	init(ctx context.Context, db *DB) error
	// startWrite runs first in every write transaction.
	startWrite(ctx context.Context, tx *sql.Tx) error
	// rowLock is the clause a SELECT ends with to lock the rows it
	// reads until the transaction ends, skipping rows another
	// transaction has locked if skip is set; "" on an engine that locks
	// the whole database for a write transaction anyway.
	rowLock(skip bool) string
	// readOptions are the options of View's read-only snapshots.
	readOptions() *sql.TxOptions
	// classify returns the vocabulary's error for a driver error the
	// engine recognises, and nil for any other.
	classify(db *DB, err error, op string) error
	// failureAbortsTx reports whether a failed statement aborts the
	// whole transaction (PostgreSQL), rather than undoing only itself
	// (SQLite).
	failureAbortsTx() bool
	// isForeignKey reports whether err is a foreign key violation.
	isForeignKey(err error) bool
	// afterCopy runs at the end of Copy's transaction into the database.
	afterCopy(ctx context.Context, tx *sql.Tx) error
	// damaged returns the ErrCorrupt error for a database that is not a
	// lease database this package can open, saying what and how to
	// recover.
	damaged(db *DB, what string) error
}
