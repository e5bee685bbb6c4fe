// Package leasedb is the lease database: the authority on which shares
// are still wanted. It runs on SQLite, in one file (Open), or on
// PostgreSQL, in a database several processes share (OpenURL with a
// postgres:// URL). The two hold the same tables and give the same
// results; the sections below describe SQLite first and then what
// differs on PostgreSQL.
//
// # Engine
//
// The database is one SQLite file (by convention storage/leasedb.sqlite)
// opened through database/sql with the pure-Go driver modernc.org/sqlite, so
// binaries stay static. It runs in WAL mode with foreign keys on and
// synchronous=NORMAL. A DB holds two connection pools: one writer connection,
// on which every write transaction starts with BEGIN IMMEDIATE, and a small
// pool of read-only connections, so readers see the last committed state
// while a writer's transaction is open.
//
// # PostgreSQL
//
// OpenURL("postgres://…") opens the lease database in an existing
// PostgreSQL database through pgx (github.com/jackc/pgx/v5), in the
// connection's current schema (normally public). The tables, columns,
// indexes, migrations and seed rows are those of the SQLite file,
// translated: integers are BIGINT (SQLite's are 64 bits), text columns
// compare byte by byte (COLLATE "C", SQLite's BINARY, on which the range
// reads of a prefix rely), AUTOINCREMENT keys are identity columns, and
// the change-tracking triggers call one PL/pgSQL function. An empty
// database gets the schema on first open; one that holds other tables is
// refused with sharestore.ErrCorrupt and left untouched.
//
// Every write transaction first takes a transaction-scoped advisory lock
// (pg_advisory_xact_lock), so writes are serialized across every process
// that shares the database, as SQLite's write lock serializes them on a
// file; Options.BusyTimeout becomes the connection's lock_timeout, so a
// writer that waits longer fails with sharestore.ErrUnavailable. The
// exceptions are the claim methods of a shared cycle (ClaimPrefixes,
// RenewClaims, CompleteClaims, FailClaim, ReopenClaims) and
// PutPrefixResults: they lock only the rows they change, so workers that
// share a cycle do not queue for one another there. View
// runs in a REPEATABLE READ, read-only transaction: one snapshot. A
// failed statement aborts a PostgreSQL transaction, where SQLite undoes
// only the statement; the few statements whose failure a method handles
// and then goes on (a lease for a missing share) run inside a savepoint.
// The connection's errors are classified like SQLite's: constraint
// violations are ErrConflict, lock timeouts, serialization failures and
// an unreachable server ErrUnavailable, refused credentials
// ErrPermissionDenied, and a missing database ErrNotFound. Messages name
// the URL without its password.
//
// # Schema
//
// The tables and columns are exactly those of Tahoe-LAFS's leasedb schema V1
// (version, shares, leases, accounts, account_attributes, crawler_history),
// created with Tahoe's own DDL, with the accounts anonymous (0) and starter
// (1) seeded. Later versions are reached through an ordered list of
// migrations that Open applies in one transaction. Version 2 adds one side
// table, share_coming(storage_index, shnum, coming_since), that records when
// a share row entered the COMING state, which V1 cannot tell; the V1 tables
// are left untouched. A Tahoe V1 file is migrated on open: its existing
// COMING rows get coming_since 0 ("before the migration"), so StaleComing
// reports them at once. The migration is one-way: the version row becomes
// 2, and Tahoe refuses such a file.
//
// # State machine
//
// A share row is COMING (being written), STABLE (complete) or GOING (being
// deleted); no row means NONE. The transitions are:
//
//	NONE   → COMING  AddNewShare (upload or mutable write begins)
//	NONE   → STABLE  AddDiscoveredShare (the crawler found a complete share)
//	STABLE → COMING  AddNewShare (mutable modify)
//	COMING → COMING  AddNewShare (a retried write; the grace clock restarts)
//	COMING → STABLE  MarkStable (all data written)
//	STABLE → GOING   MarkGoing (unleased; about to delete)
//	GOING  → STABLE  MarkStable (the backend delete failed)
//	any    → NONE    RemoveDeletedShare (objects gone)
//
// Refused, with an error wrapping sharestore.ErrConflict: AddNewShare or
// AddDiscoveredShare on a GOING row (re-creation during deletion),
// AddDiscoveredShare on any existing row, and MarkGoing on a COMING or GOING
// row. Transitions on a missing row fail with sharestore.ErrNotFound.
// Tahoe's defects are fixed: discovered shares are STABLE, a failed delete
// returns to STABLE, and abandoned COMING rows are found by StaleComing.
//
// # Garbage collection protocol
//
// The accounting crawler deletes an unleased share in two phases, so that
// neither a crash nor a racing client can cost a wanted share:
//
//  1. In the prefix's transaction: UnleasedSharesForPrefix, then MarkGoing
//     for each share to delete; commit.
//  2. For each share, under the SI lock: LeaseCount. If a lease arrived
//     meanwhile (AddOrRenewLeasesForSI works on GOING rows), MarkStable and
//     keep the share. Otherwise delete it from the backend, then
//     RemoveDeletedShare, or MarkStable if the delete failed (the next
//     cycle tries again).
//
// A GOING row that a crash left behind shows up in SharesForPrefix on a
// later cycle; the crawler finishes it the same way (delete, then
// RemoveDeletedShare, or MarkStable).
//
// # Transactions
//
// Begin starts a write transaction and Update runs a function in one; the
// accounting crawler commits one prefix's reconciliation as one transaction.
// View runs a function in a read-only snapshot. The read methods of DB run
// on the reader pool. All times are passed in by the caller; the package
// never reads the clock.
//
// # Damage and rebuilding
//
// Open refuses a file that is not a SQLite database, a SQLite database that
// is not a lease database, and a lease database whose schema version this
// package does not know. The error wraps sharestore.ErrCorrupt, names the
// file and says what to do. Open never deletes, truncates or rewrites such a
// file. To recover, stop the server and move the file aside, for example
//
//	mv storage/leasedb.sqlite storage/leasedb.sqlite.corrupt
//
// (together with any leasedb.sqlite-wal and leasedb.sqlite-shm next to it).
// The next Open creates an empty database, and the next cycle of the
// accounting crawler finds every stored share missing from it, records it as
// STABLE and gives it a starter lease (account 1, 60 days). Leases that
// clients held are lost, but no share is: the starter leases keep every
// share for 60 days, long enough for clients to renew.
package leasedb
