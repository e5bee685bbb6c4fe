package benchstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/leasedb"
	"github.com/sharestore/sharestore/share"
)

// CrawlFixture builds, under dir, a disk store (dir/store) of n sharesets
// and a lease database (dir/leasedb.sqlite) for crash and restart tests:
// every third share's only lease expired 100 days before now, every fifth
// share is unknown to the database, every eleventh is corrupt, and a few
// rows are for shares that vanished. The same n always gives the same
// fixture.
func CrawlFixture(tb testing.TB, dir string, n int, now time.Time) {
	tb.Helper()
	ctx := context.Background()
	b, err := disk.Open(filepath.Join(dir, "store"), disk.Options{Create: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer b.Close()
	db, err := leasedb.Open(ctx, filepath.Join(dir, "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	err = db.Update(ctx, func(tx *leasedb.Tx) error {
		for i := 0; i < n; i++ {
			var si sharestore.StorageIndex
			si[0], si[1], si[2] = byte(i*7), byte(i), byte(i>>8)
			data := []byte(strings.Repeat(fmt.Sprint(i), 20))
			raw := append(share.NewImmutableHeader(1, int64(len(data))), data...)
			if i%11 == 0 {
				raw = []byte("corrupt share " + fmt.Sprint(i))
			}
			vanished := i%13 == 5
			if !vanished {
				if err := b.Shareset(si).PutRaw(ctx, i%4, bytes.NewReader(raw), int64(len(raw))); err != nil {
					return err
				}
			}
			if i%5 == 0 && !vanished {
				continue // new to the database
			}
			if err := tx.AddNewShare(ctx, si, i%4, 4096, sharestore.ShareTypeImmutable, now); err != nil {
				return err
			}
			renew := now
			if i%3 == 0 {
				renew = now.Add(-100 * 24 * time.Hour)
			}
			if err := tx.AddOrRenewLease(ctx, si, i%4, leasedb.AccountAnonymous, renew, renew.Add(31*24*time.Hour)); err != nil {
				return err
			}
			if err := tx.MarkStable(ctx, si, i%4, 4096); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// CrawlResult returns what a crash or restart test compares after a
// crawl of a CrawlFixture directory: the canonical dump of
// dir/leasedb.sqlite and the crawler state dir/accounting.json, without
// the prefix intervals (which depend on when the process ran).
func CrawlResult(tb testing.TB, dir string) string {
	tb.Helper()
	ctx := context.Background()
	db, err := leasedb.Open(ctx, filepath.Join(dir, "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	d, err := db.Dump(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := json.MarshalIndent(d, "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "accounting.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(raw, &st); err != nil {
		tb.Fatalf("crawler state %s: %v", filepath.Join(dir, "accounting.json"), err)
	}
	delete(st, "recent_prefix_seconds")
	sb, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b) + "\n" + string(sb)
}
