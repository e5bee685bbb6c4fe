package leasedb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
)

// Share states, equal to Tahoe's STATE_* constants.
const (
	StateComing State = 0
	StateStable State = 1
	StateGoing  State = 2
)

// Well-known accounts, equal to Tahoe's ANONYMOUS_ACCOUNTID and
// STARTER_LEASE_ACCOUNTID. Every database has both.
const (
	AccountAnonymous int64 = 0
	AccountStarter   int64 = 1
)

// Lease durations and retention defaults, as in Tahoe.
const (
	// StarterLeaseDuration is how long a starter lease runs: 60 days.
	StarterLeaseDuration = 60 * 24 * time.Hour
	// DefaultLeaseDuration is how long a client lease runs: 31 days.
	DefaultLeaseDuration = 31 * 24 * time.Hour
	// DefaultRetainedHistory is how many crawler cycles the history keeps.
	DefaultRetainedHistory = 10
	// DefaultComingGrace is the suggested grace period for StaleComing: a
	// share that has been COMING for a week is taken to be abandoned. It is
	// long because a slow upload of a large share must not be mistaken for
	// an abandoned one.
	DefaultComingGrace = 7 * 24 * time.Hour
)

// State is the state of a share row.
type State int

// String returns "coming", "stable", "going", or "state(N)" for anything
// else.
func (s State) String() string {
	switch s {
	case StateComing:
		return "coming"
	case StateStable:
		return "stable"
	case StateGoing:
		return "going"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Options tunes Open and OpenURL. The zero value gives sensible
// defaults. CacheSizeKiB applies to SQLite only.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock held by another
	// process before it fails with sharestore.ErrUnavailable. Zero means 5s.
	BusyTimeout time.Duration
	// MaxReaders is the size of the read-only connection pool. Zero means 4.
	MaxReaders int
	// CacheSizeKiB is SQLite's page cache per connection, in KiB. Zero
	// means 65536 (64 MiB) for the writer and 8192 for each reader.
	CacheSizeKiB int
	// OnTx, if set, is called when a transaction ends (commits, fails to
	// commit, or rolls back), with whether it was a write transaction,
	// Commit's error (nil for a commit and for a rollback) and the time
	// from Begin to the end. View's snapshots are read transactions.
	// It must not block.
	OnTx func(write bool, err error, elapsed time.Duration)
}

// DB is an open lease database. It is safe for concurrent use. Writes are
// serialized on one connection; reads use a separate pool and see the last
// committed state.
type DB struct {
	path string // the file, or the server's URL without a password
	eng  engine
	onTx func(write bool, err error, elapsed time.Duration) // Options.OnTx
	w    *sql.DB                                            // one connection; BEGIN IMMEDIATE
	r    *sql.DB                                            // read-only pool

	// wc and rc keep statements prepared on the writer's connection and
	// the readers', so a transaction uses them without preparing again
	// (see Tx.stmt).
	wc, rc stmtCache

	closeOnce sync.Once
	closeErr  error
}

func (o Options) busyTimeout() time.Duration {
	if o.BusyTimeout <= 0 {
		return 5 * time.Second
	}
	return o.BusyTimeout
}

func (o Options) maxReaders() int {
	if o.MaxReaders <= 0 {
		return 4
	}
	return o.MaxReaders
}

// sqliteMagic is the first 16 bytes of every SQLite 3 database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// Open opens the lease database at path, creating it (and nothing else: the
// directory must exist) if the file is missing. It applies any pending
// migrations in one transaction and sets WAL mode.
//
// An empty file, a file that is not a SQLite database, a database without
// the lease tables, or a lease database with an unknown schema version
// makes Open fail with an error that wraps sharestore.ErrCorrupt, names
// path and says how to rebuild (see the package documentation); the file
// is left exactly as it was, byte for byte, and is never switched to WAL
// mode. A FIFO, device, symbolic link or directory at path is refused with
// an error wrapping sharestore.ErrInvalidArgument, without opening it.
// Other failures wrap sharestore.ErrInternal, or the context's class.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "leasedb: empty path")
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	busy, readers := opts.busyTimeout(), opts.maxReaders()
	wcache, rcache := 65536, 8192
	if opts.CacheSizeKiB > 0 {
		wcache, rcache = opts.CacheSizeKiB, opts.CacheSizeKiB
	}
	common := func(cacheKiB int) url.Values {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
		q.Add("_pragma", "temp_store(MEMORY)")
		return q
	}
	wq := common(wcache)
	wq.Set("_txlock", "immediate")
	rq := common(rcache)
	rq.Add("_pragma", "query_only(1)")
	uri := func(q url.Values) string {
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	}

	w, err := sql.Open("sqlite", uri(wq))
	if err != nil {
		return nil, sharestore.Wrap(sharestore.ErrInternal, err, "leasedb "+path+": open")
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db := &DB{path: path, eng: sqliteEngine{}, w: w, onTx: opts.OnTx}
	db.wc.pool = w
	if err := db.eng.init(ctx, db); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", uri(rq))
	if err != nil {
		w.Close()
		return nil, sharestore.Wrap(sharestore.ErrInternal, err, "leasedb "+path+": open")
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	db.r = r
	db.rc.pool = r
	return db, nil
}

// OpenURL opens the lease database that u names, creating its schema if
// the database is empty:
//
//   - "sqlite:PATH", or a bare PATH, is the SQLite file at PATH, exactly
//     as Open opens it;
//   - "postgres://…" or "postgresql://…" is a PostgreSQL database, in
//     the form libpq and pgx accept (user, password, host, port,
//     database, and parameters such as sslmode). The database must exist;
//     its current schema (normally public) holds the same tables as the
//     SQLite file, translated column for column (see the package
//     documentation).
//
// The errors are Open's. A PostgreSQL server that cannot be reached
// fails with sharestore.ErrUnavailable, refused credentials with
// sharestore.ErrPermissionDenied and a missing database with
// sharestore.ErrNotFound; every message names the URL without its
// password. A database that holds tables but not a lease database's
// fails with sharestore.ErrCorrupt and is left untouched.
func OpenURL(ctx context.Context, u string, opts Options) (*DB, error) {
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return openPostgres(ctx, u, opts)
	case strings.HasPrefix(u, "sqlite:"):
		return Open(ctx, strings.TrimPrefix(u, "sqlite:"), opts)
	}
	if i := strings.Index(u, "://"); i > 0 && !strings.ContainsAny(u[:i], "/\\") {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument,
			"leasedb %s: unknown database scheme %q (use sqlite:PATH or postgres://…)", RedactURL(u), u[:i])
	}
	return Open(ctx, u, opts)
}

// checkHeader refuses, before SQLite ever sees it, anything at path but
// a missing file (which Open creates) or a regular file that starts with
// the SQLite magic. It looks with Lstat first, so a FIFO is never opened
// (opening one blocks until a writer comes). An empty file is refused
// too: it is not a database this package wrote (Open never leaves one),
// and treating it as new would silently drop whatever was lost.
func checkHeader(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return sharestore.Wrap(sharestore.ErrInternal, err, "leasedb "+path+": cannot read the file")
	}
	switch {
	case fi.IsDir():
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "leasedb %s: is a directory, not a database file", path)
	case !fi.Mode().IsRegular():
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "leasedb %s: is not a regular file (file mode %s), so not a database file", path, fi.Mode())
	case fi.Size() == 0:
		return damaged(path, "the file is empty (0 bytes), so it holds no lease database")
	}
	f, err := os.Open(path)
	if err != nil {
		return sharestore.Wrap(sharestore.ErrInternal, err, "leasedb "+path+": cannot read the file")
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return sharestore.Wrap(sharestore.ErrInternal, err, "leasedb "+path+": cannot read the file")
	}
	if !bytes.Equal(head[:n], sqliteMagic) {
		return damaged(path, "file is not a database")
	}
	return nil
}

// damaged returns the ErrCorrupt error for a file that must be rebuilt.
func damaged(path, what string) error {
	return sharestore.Errorf(sharestore.ErrCorrupt,
		"leasedb %s: %s; stop the server, move it aside (mv %s %s.corrupt, with any -wal and -shm files) "+
			"and the accounting crawler will rebuild it with starter leases", path, what, path, path)
}

// Path returns the file name a SQLite database was opened with, or the
// URL of a PostgreSQL one without its password (as RedactURL gives it):
// the name messages use.
func (db *DB) Path() string { return db.path }

// Close closes both connection pools. Open transactions must be finished
// first. Closing twice returns the first result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		var errs []error
		db.wc.close()
		db.rc.close()
		if db.r != nil {
			errs = append(errs, db.r.Close())
		}
		errs = append(errs, db.w.Close())
		if err := errors.Join(errs...); err != nil {
			db.closeErr = sharestore.Wrap(sharestore.ErrInternal, err, "leasedb "+db.path+": close")
		}
	})
	return db.closeErr
}

// classify turns a driver error into the error vocabulary. op says what
// was being done. Errors of the vocabulary pass unchanged; the engine
// classifies its own (a lock held too long becomes ErrUnavailable, a
// constraint violation ErrConflict, a damaged database ErrCorrupt naming
// it); anything else is ErrInternal, or the context's class.
func (db *DB) classify(err error, op string) error {
	if err == nil {
		return nil
	}
	var se *sharestore.Error
	if errors.As(err, &se) {
		return err
	}
	if e := db.eng.classify(db, err, op); e != nil {
		return e
	}
	return sharestore.Wrap(sharestore.ErrInternal, err, "leasedb "+db.path+": "+op)
}

// Tx is a write transaction, begun with BEGIN IMMEDIATE so that it holds
// the database's write lock from the start. A Tx must be used by one
// goroutine at a time and ended with Commit or Rollback.
type Tx struct {
	db    *DB
	ctx   context.Context // Begin's; when it ends, database/sql rolls back
	tx    *sql.Tx
	ro    bool
	stmts map[string]*sql.Stmt
	// missed lists the queries this transaction had to prepare itself;
	// they are prepared on its pool when it ends.
	missed []string
	done   bool
	start  time.Time // when Begin returned it, for Options.OnTx
}

// ended reports the transaction's end to Options.OnTx.
func (tx *Tx) ended(err error) {
	if tx.db.onTx != nil {
		tx.db.onTx(!tx.ro, err, time.Since(tx.start))
	}
}

// Begin starts a write transaction. Only one write transaction exists at a
// time: Begin waits for the current one to end, or for ctx to end. Do not
// call Begin or Update while holding a Tx in the same goroutine: it would
// wait for ever (until ctx ends).
func (db *DB) Begin(ctx context.Context) (*Tx, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, db.classify(err, "begin")
	}
	if err := db.eng.startWrite(ctx, tx); err != nil {
		tx.Rollback()
		return nil, db.classify(err, "begin")
	}
	return &Tx{db: db, ctx: ctx, tx: tx, start: time.Now()}, nil
}

// updateRows is Update without the database's write lock on an engine
// that has row locks (PostgreSQL): fn's statements must lock the rows
// they change (see engine.rowLock), so that transactions on different
// rows run side by side. On SQLite it is Update.
func (db *DB) updateRows(ctx context.Context, fn func(*Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return db.classify(err, "begin")
	}
	t := &Tx{db: db, ctx: ctx, tx: tx, start: time.Now()}
	defer func() {
		if p := recover(); p != nil {
			t.Rollback()
			panic(p)
		}
	}()
	if err := fn(t); err != nil {
		t.Rollback()
		return err
	}
	return t.Commit()
}

// beginRead starts a read-only snapshot transaction on the reader pool.
func (db *DB) beginRead(ctx context.Context) (*Tx, error) {
	tx, err := db.r.BeginTx(ctx, db.eng.readOptions())
	if err != nil {
		return nil, db.classify(err, "begin read")
	}
	return &Tx{db: db, ctx: ctx, tx: tx, ro: true, start: time.Now()}, nil
}

// Commit makes the transaction's changes durable (as synchronous=NORMAL
// allows in WAL mode) and visible to readers. On failure the transaction is
// rolled back and nothing is changed. If the context given to Begin ended
// first, the transaction was already rolled back and Commit returns that
// context's error (sharestore.ErrCanceled or ErrDeadlineExceeded).
func (tx *Tx) Commit() error {
	if tx.done {
		return sharestore.Errorf(sharestore.ErrConflict, "leasedb %s: commit: transaction already ended", tx.db.path)
	}
	tx.done = true
	tx.closeStmts()
	err := tx.tx.Commit()
	tx.cache().prepareLater(tx.missed)
	if err != nil {
		if cerr := tx.ctx.Err(); cerr != nil {
			err = sharestore.Wrap(sharestore.ErrCanceled, cerr, "leasedb "+tx.db.path+": commit: transaction rolled back")
			tx.ended(err)
			return err
		}
	}
	err = tx.db.classify(err, "commit")
	tx.ended(err)
	return err
}

// Rollback discards the transaction's changes. Calling it after Commit or
// Rollback is a no-op that returns nil, so it can be deferred.
func (tx *Tx) Rollback() error {
	if tx.done {
		return nil
	}
	tx.done = true
	tx.closeStmts()
	tx.ended(nil)
	err := tx.tx.Rollback()
	tx.cache().prepareLater(tx.missed)
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return tx.db.classify(err, "rollback")
}

func (tx *Tx) closeStmts() {
	for _, s := range tx.stmts {
		s.Close()
	}
	tx.stmts = nil
}

// stmt returns a prepared statement for query bound to this transaction,
// preparing it on first use.
func (tx *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if tx.done {
		return nil, sharestore.Errorf(sharestore.ErrConflict, "leasedb %s: transaction already ended", tx.db.path)
	}
	query = tx.db.eng.rebind(query)
	if s, ok := tx.stmts[query]; ok {
		return s, nil
	}
	var s *sql.Stmt
	if ds := tx.cache().get(query); ds != nil {
		// database/sql prepares it on this transaction's connection
		// once, and reuses it there after.
		s = tx.tx.StmtContext(ctx, ds)
	} else {
		tx.missed = append(tx.missed, query)
		var err error
		if s, err = tx.tx.PrepareContext(ctx, query); err != nil {
			return nil, tx.db.classify(err, "prepare")
		}
	}
	if tx.stmts == nil {
		tx.stmts = make(map[string]*sql.Stmt)
	}
	tx.stmts[query] = s
	return s, nil
}

func (tx *Tx) exec(ctx context.Context, op, query string, args ...any) (sql.Result, error) {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := s.ExecContext(ctx, args...)
	if err != nil {
		return nil, tx.db.classify(err, op)
	}
	return res, nil
}

// execGuarded is exec for a statement whose failure the caller handles
// and then goes on in the transaction (a foreign key violation, say).
// SQLite undoes only the failed statement; PostgreSQL aborts the whole
// transaction, so there the statement runs inside a savepoint that is
// rolled back if it fails.
func (tx *Tx) execGuarded(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if !tx.db.eng.failureAbortsTx() {
		return s.ExecContext(ctx, args...)
	}
	if _, err := tx.tx.ExecContext(ctx, "SAVEPOINT leasedb_guard"); err != nil {
		return nil, err
	}
	res, err := s.ExecContext(ctx, args...)
	if err != nil {
		if _, rerr := tx.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT leasedb_guard"); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
	if _, rerr := tx.tx.ExecContext(ctx, "RELEASE SAVEPOINT leasedb_guard"); rerr != nil && err == nil {
		return nil, rerr
	}
	return res, err
}

func (tx *Tx) query(ctx context.Context, op, query string, args ...any) (*sql.Rows, error) {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := s.QueryContext(ctx, args...)
	if err != nil {
		return nil, tx.db.classify(err, op)
	}
	return rows, nil
}

// Update runs fn in a write transaction and commits it if fn returns nil.
// If fn returns an error or panics, the transaction is rolled back and the
// error (or panic) is passed on unchanged.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) (err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// View runs fn in a read-only transaction: every read inside it sees one
// consistent snapshot, the last state committed before View began. Write
// methods called on the Tx fail. View never waits for a writer.
func (db *DB) View(ctx context.Context, fn func(*Tx) error) error {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// cache returns the statement cache of the transaction's pool.
func (tx *Tx) cache() *stmtCache {
	if tx.ro {
		return &tx.db.rc
	}
	return &tx.db.wc
}

// checkWritable refuses writes inside View.
func (tx *Tx) checkWritable(op string) error {
	if tx.ro {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "leasedb %s: %s: read-only transaction", tx.db.path, op)
	}
	return nil
}
