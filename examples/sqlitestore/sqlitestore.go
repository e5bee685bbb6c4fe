// Package sqlitestore is a complete third-party sharestore backend,
// written on the public interface alone: shares in one SQLite file.
//
// Store implements cloud.ObjectStore (and cloud.ConditionalDeleter) over
// a table of objects; OpenBackend hands it to cloud.New, which adds the
// share layout, chunking, listings, locks, the delete guard and retries,
// and the result passes the conformance suite. Harness certifies it, in
// go test and, handed to plugin.Serve by cmd/sharestore-backend-sqlite,
// in the plugin binary that sharestore conformance runs. Each Put's
// version is above every other in the table, so every rewrite changes
// it.
//
// docs/writing-a-backend.md in the sharestore repository walks through
// this package, the plugin and the certification of the binary.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// PageSize is the number of objects one List page holds.
const PageSize = 1000

const schema = `CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, data BLOB NOT NULL,
	mtime INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS objects_version ON objects (version)`

// Store is a cloud.ObjectStore and cloud.ConditionalDeleter over one
// SQLite file. It is safe for concurrent use.
type Store struct{ db *sql.DB }

// Open opens the store in the SQLite file at path, creating it if needed.
// A path with a '?' or '#' is ErrInvalidArgument: the driver would take
// the rest for parameters.
func Open(path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "sqlitestore: path %q: want a file name without '?' or '#'", path)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err == nil {
		db.SetMaxOpenConns(1) // one statement at a time: no SQLITE_BUSY within a process
		_, err = db.Exec(schema)
	}
	if err != nil {
		return nil, sharestore.Wrap(sharestore.ErrInternal, err, "sqlitestore: open "+path)
	}
	return &Store{db: db}, nil
}

// Close closes the file. The backend's Close calls it.
func (s *Store) Close() error { return s.db.Close() }

// fail puts err into the sharestore vocabulary: nil for nil, the
// context's class once ctx has ended, ErrNotFound for no row, ErrInternal
// for anything else.
func fail(ctx context.Context, err error, op, key string) error {
	if err == nil {
		return nil
	}
	if cerr := sharestore.CtxErr(ctx); cerr != nil {
		return cerr
	}
	if errors.Is(err, sql.ErrNoRows) {
		return sharestore.Errorf(sharestore.ErrNotFound, "sqlitestore: %s %s: not found", op, key)
	}
	return sharestore.Wrap(sharestore.ErrInternal, err, "sqlitestore: "+op+" "+key)
}

func object(key string, size, mtime, version int64) cloud.Object {
	return cloud.Object{Key: key, Size: size, ModTime: time.Unix(0, mtime), Version: strconv.FormatInt(version, 10)}
}

// List implements cloud.ObjectStore. The token is the last key of the
// previous page.
func (s *Store) List(ctx context.Context, prefix, token string) (cloud.Page, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, length(data), mtime, version FROM objects
		WHERE key >= ? AND key > ? ORDER BY key LIMIT ?`, prefix, token, PageSize)
	if err != nil {
		return cloud.Page{}, fail(ctx, err, "list", prefix)
	}
	defer rows.Close()
	var p cloud.Page
	for rows.Next() {
		var k string
		var size, mtime, version int64
		if err := rows.Scan(&k, &size, &mtime, &version); err != nil {
			return cloud.Page{}, fail(ctx, err, "list", prefix)
		}
		if !strings.HasPrefix(k, prefix) {
			return p, nil // past the prefix: this is the last page
		}
		p.Objects = append(p.Objects, object(k, size, mtime, version))
	}
	if err := rows.Err(); err != nil {
		return cloud.Page{}, fail(ctx, err, "list", prefix)
	}
	if len(p.Objects) == PageSize {
		p.Next = p.Objects[PageSize-1].Key
	}
	return p, nil
}

// Get implements cloud.ObjectStore with substr on the blob.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	if length < 0 {
		length = math.MaxInt64
	}
	data := []byte{}
	err := s.db.QueryRowContext(ctx, `SELECT substr(data, ? + 1, ?) FROM objects WHERE key = ?`, offset, length, key).Scan(&data)
	if err != nil {
		return nil, fail(ctx, err, "get", key)
	}
	return data, nil
}

// Put implements cloud.ObjectStore with one upsert.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO objects (key, data, mtime, version)
		VALUES (?1, ?2, ?3, (SELECT max(coalesce(max(version), 0) + 1, ?3) FROM objects))
		ON CONFLICT (key) DO UPDATE SET data = excluded.data, mtime = excluded.mtime, version = excluded.version`,
		key, append([]byte{}, data...), time.Now().UnixNano())
	return fail(ctx, err, "put", key)
}

// Head implements cloud.ObjectStore.
func (s *Store) Head(ctx context.Context, key string) (cloud.Object, error) {
	var size, mtime, version int64
	err := s.db.QueryRowContext(ctx, `SELECT length(data), mtime, version FROM objects WHERE key = ?`, key).Scan(&size, &mtime, &version)
	if err != nil {
		return cloud.Object{}, fail(ctx, err, "head", key)
	}
	return object(key, size, mtime, version), nil
}

// Delete implements cloud.ObjectStore. A missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM objects WHERE key = ?`, key)
	return fail(ctx, err, "delete", key)
}

// DeleteIf implements cloud.ConditionalDeleter: a key that holds another
// version is ErrConflict and stays; a missing key is ErrNotFound.
func (s *Store) DeleteIf(ctx context.Context, key, version string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM objects WHERE key = ? AND version = ?`, key, version)
	if err != nil {
		return fail(ctx, err, "delete", key)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	if _, err := s.Head(ctx, key); err != nil {
		return err
	}
	return sharestore.Errorf(sharestore.ErrConflict, "sqlitestore: delete %s: it is no longer version %s", key, version)
}
