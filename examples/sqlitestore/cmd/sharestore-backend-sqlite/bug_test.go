package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/examples/sqlitestore"
)

// immutable is a version 1 immutable container holding data.
func immutable(data string) []byte {
	return append([]byte{0, 0, 0, 1, 0, 0, 0, byte(len(data)), 0, 0, 0, 0}, data...)
}

// store opens a backend on a new file with the bug name planted.
func store(t *testing.T, name string) sharestore.Backend {
	t.Helper()
	wrap, err := planted(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sqlitestore.OpenBackend(filepath.Join(t.TempDir(), "shares.db"), sqlitestore.Options{Create: true, Wrap: wrap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Without a bug, deleting share 1 leaves 10 and 100; with delete-prefix
// it takes them too.
func TestBugDeletePrefix(t *testing.T) {
	ctx := context.Background()
	for name, want := range map[string][]int{"": {10, 100}, "delete-prefix": nil} {
		ss := store(t, name).Shareset(sharestore.StorageIndex{1})
		for _, n := range []int{1, 10, 100} {
			c := immutable(fmt.Sprint(n))
			if err := ss.PutRaw(ctx, n, bytes.NewReader(c), int64(len(c))); err != nil {
				t.Fatal(err)
			}
		}
		if err := ss.DeleteShare(ctx, 1, nil); err != nil {
			t.Fatalf("bug %q: DeleteShare(1): %v", name, err)
		}
		shares, _, err := ss.Shares(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var left []int
		for _, s := range shares {
			left = append(left, s.Shnum)
		}
		if fmt.Sprint(left) != fmt.Sprint(want) {
			t.Errorf("bug %q: after deleting share 1, shares %v are left; want %v", name, left, want)
		}
	}
}

// Without a bug a prefix of 1001 shares lists 1001; with list-1000 it
// lists 1000.
func TestBugList1000(t *testing.T) {
	ctx := context.Background()
	for name, want := range map[string]int{"": 1001, "list-1000": 1000} {
		b := store(t, name)
		c := immutable("x")
		for i := range 1001 {
			si := sharestore.StorageIndex{0, 0, byte(i >> 8), byte(i)} // prefix "aa"
			if err := b.Shareset(si).PutRaw(ctx, 0, bytes.NewReader(c), int64(len(c))); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		if err := b.ListPrefix(ctx, sharestore.StorageIndex{}.Prefix(), func(sharestore.ShareInfo) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("bug %q: listed %d shares, want %d", name, n, want)
		}
	}
}

// A name that is not a bug stops the plugin before it serves.
func TestBugUnknown(t *testing.T) {
	want := `unknown planted bug "list-999" (want delete-prefix or list-1000)`
	if _, err := planted("list-999"); err == nil || err.Error() != want {
		t.Fatalf("planted(list-999) = %v, want %s", err, want)
	}
}
