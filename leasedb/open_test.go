package leasedb

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
)

// A valid SQLite database that is not ours is recognised before anything
// writes to it or switches it to WAL: its bytes are unchanged and no -wal
// or -shm file is left.
func TestOpenForeignSQLiteUnchanged(t *testing.T) {
	cases := map[string][]string{
		"version table only": {"CREATE TABLE version (version INTEGER)", "INSERT INTO version VALUES (1)", "CREATE TABLE other (x)"},
		"newest version":     {"CREATE TABLE version (version INTEGER)", "INSERT INTO version VALUES (3)", "CREATE TABLE shares (x)"},
		"no version, WAL":    {"PRAGMA journal_mode=WAL", "CREATE TABLE other (x)", "INSERT INTO other VALUES (1)"},
	}
	for name, stmts := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "leasedb.sqlite")
			r := rawDB(t, path)
			for _, s := range stmts {
				if _, err := r.Exec(s); err != nil {
					t.Fatal(err)
				}
			}
			r.Close()
			before := fileSum(t, path)
			db, err := Open(context.Background(), path, Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open accepted a foreign database")
			}
			wantCode(t, err, sharestore.ErrCorrupt)
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a lease database") {
				t.Errorf("error %q does not name the file or say why", err)
			}
			if after := fileSum(t, path); after != before {
				t.Error("Open changed the foreign database")
			}
			for _, suffix := range []string{"-wal", "-shm"} {
				if _, err := os.Stat(path + suffix); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s left behind (%v)", path+suffix, err)
				}
			}
		})
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// An empty file is not silently taken for a new database: Open refuses it,
// says it is empty and how to rebuild, and leaves it alone.
func TestOpenEmptyFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leasedb.sqlite")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), path, Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open accepted an empty file")
	}
	wantCode(t, err, sharestore.ErrCorrupt)
	for _, want := range []string{path, "empty (0 bytes)", "mv " + path + " " + path + ".corrupt", "rebuild it with starter leases"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if st, err := os.Stat(path); err != nil || st.Size() != 0 {
		t.Fatalf("the empty file was changed: %v %v", st, err)
	}
	// The documented rebuild: move it aside and open again.
	if err := os.Rename(path, path+".corrupt"); err != nil {
		t.Fatal(err)
	}
	if accts, err := openAt(t, path).Accounts(context.Background()); err != nil || len(accts) != 2 {
		t.Errorf("rebuilt: accounts %v, %v", accts, err)
	}
}
