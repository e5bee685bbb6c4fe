package sqlitestore_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/examples/sqlitestore"
)

// The defaults: 512 KiB chunks.
func TestConformance(t *testing.T) { conformance.RunBackend(t, sqlitestore.Harness{}) }

// Small chunks: every share spans many rows.
func TestConformanceSmallChunks(t *testing.T) {
	conformance.RunBackend(t, sqlitestore.Harness{Options: sqlitestore.Options{ChunkSize: 1000}})
}

// Read-only: the suite checks that every mutation is refused.
func TestConformanceReadOnly(t *testing.T) {
	conformance.RunBackend(t, sqlitestore.Harness{Options: sqlitestore.Options{ReadOnly: true}})
}

func TestCrawlers(t *testing.T) {
	conformance.RunCrawlers(t, sqlitestore.Harness{Options: sqlitestore.Options{ChunkSize: 1000}})
}

// Listings page past PageSize in key order and stop at the prefix; an
// empty object is stored and read back; a rewrite changes the version and
// DeleteIf refuses the stale one; the file keeps everything across a
// reopen.
func TestStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	n := sqlitestore.PageSize + 5
	for i := range n {
		st.Put(ctx, "p/"+string(rune('a'+i/676))+string(rune('a'+i/26%26))+string(rune('a'+i%26)), []byte{byte(i)})
	}
	st.Put(ctx, "q", nil)
	var keys []string
	for token, pages := "", 0; ; pages++ {
		pg, err := st.List(ctx, "p/", token)
		if err != nil || pages > 3 {
			t.Fatalf("List page %d: %v", pages, err)
		}
		for _, o := range pg.Objects {
			if len(keys) > 0 && o.Key <= keys[len(keys)-1] {
				t.Fatalf("key %q after %q", o.Key, keys[len(keys)-1])
			}
			keys = append(keys, o.Key)
		}
		if token = pg.Next; token == "" {
			break
		}
	}
	if len(keys) != n {
		t.Fatalf("listed %d keys under p/, want %d", len(keys), n)
	}
	if d, err := st.Get(ctx, "q", 0, -1); err != nil || len(d) != 0 {
		t.Fatalf("Get(empty object) = %q, %v", d, err)
	}
	st.Put(ctx, "k", []byte("0123456789"))
	if d, err := st.Get(ctx, "k", 8, 5); err != nil || string(d) != "89" {
		t.Fatalf("Get(k, 8, 5) = %q, %v", d, err)
	}
	old, _ := st.Head(ctx, "k")
	st.Put(ctx, "k", []byte("0123456789"))
	cur, _ := st.Head(ctx, "k")
	if old.Version == cur.Version {
		t.Fatalf("a rewrite kept version %s", cur.Version)
	}
	if err := st.DeleteIf(ctx, "k", old.Version); !errors.Is(err, sharestore.ErrConflict) {
		t.Fatalf("DeleteIf(stale) = %v, want ErrConflict", err)
	}
	st.Close()
	st, err = sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.DeleteIf(ctx, "k", cur.Version); err != nil {
		t.Fatalf("DeleteIf(current) after reopening = %v", err)
	}
	if _, err := st.Get(ctx, "k", 0, -1); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("Get(deleted) = %v, want ErrNotFound", err)
	}
	if err := st.DeleteIf(ctx, "k", cur.Version); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("DeleteIf(missing) = %v, want ErrNotFound", err)
	}
}

// OpenBackend refuses a missing file without Create, and the backend
// works on what Wrap returns.
func TestOpenBackend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	if _, err := sqlitestore.OpenBackend(path, sqlitestore.Options{}); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("OpenBackend(missing file) = %v, want ErrNotFound", err)
	}
	var puts countPuts
	b, err := sqlitestore.OpenBackend(path, sqlitestore.Options{Create: true, Wrap: func(s *sqlitestore.Store) cloud.ObjectStore {
		puts.Store = s
		return &puts
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := append([]byte{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, 'x')
	if err := b.Shareset(sharestore.StorageIndex{}).PutRaw(context.Background(), 0, bytes.NewReader(c), int64(len(c))); err != nil {
		t.Fatal(err)
	}
	if puts.n != 1 {
		t.Fatalf("a PutRaw of one chunk made %d Puts through the wrapper, want 1", puts.n)
	}
}

// countPuts counts the Puts to the store it embeds.
type countPuts struct {
	*sqlitestore.Store
	n int
}

func (c *countPuts) Put(ctx context.Context, key string, data []byte) error {
	c.n++
	return c.Store.Put(ctx, key, data)
}
