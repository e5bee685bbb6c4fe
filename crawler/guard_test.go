package crawler

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/leasedb"
)

// rewriteBeforeDelete rewrites each share just before the crawler's
// delete of it, after the listing that judged it, as a copy into the
// store from another process would: the same SI and shnum, other bytes.
type rewriteBeforeDelete struct {
	sharestore.Backend
	t *testing.T
	// rewrite replaces the share's container.
	rewrite func(ss sharestore.Shareset, shnum int)
}

type rewriteShareset struct {
	sharestore.Shareset
	r *rewriteBeforeDelete
}

func (r *rewriteBeforeDelete) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return &rewriteShareset{Shareset: r.Backend.Shareset(si), r: r}
}

func (s *rewriteShareset) DeleteShare(ctx context.Context, shnum int, g sharestore.Guard) error {
	s.r.rewrite(s.Shareset, shnum)
	return s.Shareset.DeleteShare(ctx, shnum, g)
}

func rawOf(t *testing.T, ss sharestore.Shareset, shnum int) []byte {
	t.Helper()
	r, _, err := ss.OpenRaw(context.Background(), shnum)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func putRaw(t *testing.T, ss sharestore.Shareset, shnum int, c []byte) {
	t.Helper()
	if err := ss.PutRaw(context.Background(), shnum, bytes.NewReader(c), int64(len(c))); err != nil {
		t.Fatal(err)
	}
}

// Why 6 of issue 11: a share whose leases expired, rewritten between the
// listing that judged it garbage and its delete, survives. The guard sees
// that it is no longer the judged share (another size, or the same size
// and another modification time), the row goes back to STABLE, and the
// cycle counts it in delete-changed.
func TestAccountingRewriteBeforeDeleteSurvives(t *testing.T) {
	cases := []struct {
		name    string
		rewrite func(t *testing.T, f *acctFixture, ss sharestore.Shareset, shnum int) []byte
	}{
		{"OtherSize", func(t *testing.T, f *acctFixture, ss sharestore.Shareset, shnum int) []byte {
			c := append(rawOf(t, ss, shnum), "longer now"...)
			putRaw(t, ss, shnum, c)
			return c
		}},
		{"SameSizeOtherModTime", func(t *testing.T, f *acctFixture, ss sharestore.Shareset, shnum int) []byte {
			path := filepath.Join(f.dir, "store", "shares", string(ss.StorageIndex().Prefix()), ss.StorageIndex().String(), strconv.Itoa(shnum))
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			c := rawOf(t, ss, shnum)
			c[len(c)-1] ^= 0xff // the last data byte: the header stays valid
			putRaw(t, ss, shnum, c)
			// A rewrite at least a second later, whatever the file
			// system's timestamp granularity.
			if err := os.Chtimes(path, fi.ModTime().Add(time.Second), fi.ModTime().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			return c
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newAcctFixture(t)
			backdate(t, f, "age")
			ctx := context.Background()
			p := leasedb.ExpirationPolicy{Enabled: true, Mode: "age", Override: 2000 * time.Second}
			want := map[sharestore.StorageIndex][]byte{}
			rb := &rewriteBeforeDelete{Backend: f.b, t: t}
			rb.rewrite = func(ss sharestore.Shareset, shnum int) {
				want[ss.StorageIndex()] = tc.rewrite(t, f, ss, shnum)
			}
			f.b = rb
			e, a := f.engine(t, AccountingConfig{Policy: p}, Hooks{})
			if err := e.Run(ctx); err != nil {
				t.Fatal(err)
			}
			c := lastHistory(t, a, e).SpaceRecovered
			if len(want) != 2 || c["delete-changed"] != 2 || c["actual-shares"] != 0 || c["delete-failed"] != 0 {
				t.Fatalf("%d shares rewritten; counters %v: want 2 delete-changed and nothing deleted", len(want), c)
			}
			for si, w := range want {
				if got := rawOf(t, rb.Backend.Shareset(si), 0); !bytes.Equal(got, w) {
					t.Fatalf("%s/0 is not the rewrite (%d bytes, want %d)", si, len(got), len(w))
				}
				sh, err := f.db.LookupShare(ctx, si, 0)
				if err != nil || sh.State != leasedb.StateStable {
					t.Fatalf("%s/0 row after the skipped delete: %+v %v, want STABLE", si, sh, err)
				}
			}
		})
	}
}
