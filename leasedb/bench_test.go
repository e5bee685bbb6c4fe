package leasedb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/emulators"
)

// Benchmarks. Run them with
//
//	go test -run '^$' -bench . -benchtime 3x ./leasedb/
//
// `go test` without -bench runs none of this, so the 1M-share database is
// never built by an ordinary (or -race) test run.

// randomSIs returns n distinct pseudo-random storage indexes, the same for
// the same seed.
func randomSIs(seed uint64, n int) []sharestore.StorageIndex {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]sharestore.StorageIndex, n)
	for i := range out {
		for j := 0; j < len(out[i]); j += 8 {
			v := r.Uint64()
			for k := 0; k < 8; k++ {
				out[i][j+k] = byte(v >> (8 * k))
			}
		}
	}
	return out
}

// sortedByText sorts sis by their text form, the order of a listing.
func sortedByText(sis []sharestore.StorageIndex) []sharestore.StorageIndex {
	type kv struct {
		k  string
		si sharestore.StorageIndex
	}
	tmp := make([]kv, len(sis))
	for i, si := range sis {
		tmp[i] = kv{si.String(), si}
	}
	sort.Slice(tmp, func(i, j int) bool { return tmp[i].k < tmp[j].k })
	for i := range tmp {
		sis[i] = tmp[i].si
	}
	return sis
}

// BenchmarkInsertNewShares measures the accounting crawler's rebuild path:
// batches of new shares of random SIs, each share recorded as STABLE with a
// starter lease, one transaction per batch, into an initially empty
// database. "per-share" calls AddDiscoveredShare and AddStarterLease for
// each share; "bulk" calls AddDiscoveredShares once per batch. "sorted"
// inserts in SI order, as the crawler does when it rebuilds a lost
// database: it walks the prefixes in order and a prefix's listing is
// sorted, so a batch of 1000 is about one prefix of a 1M-share store.
// "random" batches hold SIs from every prefix, the worst case.
func BenchmarkInsertNewShares(b *testing.B) {
	for _, c := range []struct {
		bulk   bool
		batch  int
		sorted bool
	}{
		{false, 1000, true}, {false, 10000, true}, {false, 10000, false},
		{true, 1000, true}, {true, 10000, true}, {true, 10000, false},
	} {
		api, order := "per-share", "sorted"
		if c.bulk {
			api = "bulk"
		}
		if !c.sorted {
			order = "random"
		}
		batch := c.batch
		b.Run(fmt.Sprintf("%s/batch=%d/%s", api, batch, order), func(b *testing.B) {
			db := openBench(b, filepath.Join(b.TempDir(), "leasedb.sqlite"))
			ctx := context.Background()
			sis := randomSIs(uint64(batch), batch*b.N)
			if c.sorted {
				sis = sortedByText(sis)
			}
			shares := make([]Share, len(sis))
			for i, si := range sis {
				shares[i] = Share{SI: si, UsedSpace: 1000, Type: sharestore.ShareTypeImmutable}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				chunk := shares[i*batch : (i+1)*batch]
				err := db.Update(ctx, func(tx *Tx) error {
					if c.bulk {
						return tx.AddDiscoveredShares(ctx, chunk, t0)
					}
					for _, sh := range chunk {
						if err := tx.AddDiscoveredShare(ctx, sh.SI, sh.Shnum, sh.UsedSpace, sh.Type); err != nil {
							return err
						}
						if err := tx.AddStarterLease(ctx, sh.SI, sh.Shnum, t0); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "shares/s")
		})
	}
}

func openBench(b *testing.B, path string) *DB {
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

const bigShares = 1_000_000

var big struct {
	once sync.Once
	dir  string
	path string
	err  error
	took time.Duration
}

// bigDB builds, once per process, a database of 1M shares spread over the
// 1024 prefixes: one share per SI, all STABLE, every share with a starter
// lease, half with an anonymous client lease too, except 1% that are
// unleased (garbage) and 0.1% that are COMING. It inserts in SI order,
// 20,000 shares per transaction, with AddDiscoveredShares.
func bigDB(b *testing.B) string {
	big.once.Do(func() {
		dir, err := tempDir()
		if err != nil {
			big.err = err
			return
		}
		big.dir, big.path = dir, filepath.Join(dir, "leasedb.sqlite")
		start := time.Now()
		db, err := Open(context.Background(), big.path, Options{})
		if err != nil {
			big.err = err
			return
		}
		defer db.Close()
		sis := sortedByText(randomSIs(1, bigShares))
		ctx := context.Background()
		const per = 20000
		for lo := 0; lo < len(sis) && big.err == nil; lo += per {
			hi := min(lo+per, len(sis))
			big.err = db.Update(ctx, func(tx *Tx) error {
				var stable []Share
				for i := lo; i < hi; i++ {
					if i%1000 == 7 {
						if err := tx.AddNewShare(ctx, sis[i], 0, 1000, sharestore.ShareTypeMutable, t0); err != nil {
							return err
						}
						continue
					}
					stable = append(stable, Share{SI: sis[i], UsedSpace: 1000, Type: sharestore.ShareTypeImmutable})
				}
				if err := tx.AddDiscoveredShares(ctx, stable, t0); err != nil {
					return err
				}
				for i := lo; i < hi; i++ {
					switch {
					case i%1000 == 7:
					case i%100 == 3: // unleased
						if _, err := tx.exec(ctx, "bench", sqlDeleteLeases, sis[i].String(), 0); err != nil {
							return err
						}
					case i%2 == 0:
						if err := tx.AddOrRenewLease(ctx, sis[i], 0, AccountAnonymous, t0.Add(-time.Duration(i%40)*Day), t0.Add(DefaultLeaseDuration)); err != nil {
							return err
						}
					}
				}
				return nil
			})
		}
		big.took = time.Since(start)
	})
	if big.err != nil {
		b.Fatal(big.err)
	}
	return big.path
}

// BenchmarkReconcilePrefix measures the per-prefix queries of one
// accounting-crawler step (SharesForPrefix, UnleasedSharesForPrefix and the
// leases for the lease-age histogram) over a 1M-share database, each
// iteration on the next prefix: inside one write transaction, as the
// crawler runs them, and in a read-only snapshot.
func BenchmarkReconcilePrefix(b *testing.B) {
	path := bigDB(b)
	db := openBench(b, path)
	ctx := context.Background()
	prefixes := sharestore.Prefixes()
	run := func(b *testing.B, in func(context.Context, func(*Tx) error) error) {
		rows := 0
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p := prefixes[(i*37)%len(prefixes)]
			err := in(ctx, func(tx *Tx) error {
				shares, err := tx.SharesForPrefix(ctx, p)
				if err != nil {
					return err
				}
				unleased, err := tx.UnleasedSharesForPrefix(ctx, p)
				if err != nil {
					return err
				}
				ages, err := tx.LeaseAges(ctx, p, t0)
				if err != nil {
					return err
				}
				rows += len(shares) + len(unleased) + len(ages)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(rows)/float64(b.N), "rows/prefix")
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*sharestore.NumPrefixes, "s/cycle")
		b.ReportMetric(big.took.Seconds(), "s-to-build-1M-db")
	}
	b.Run("update", func(b *testing.B) { run(b, db.Update) })
	b.Run("view", func(b *testing.B) { run(b, db.View) })
}

// tempDir makes a directory for the shared 1M-share database (about
// 260 MB). TestMain removes it when the test binary ends.
func tempDir() (string, error) { return os.MkdirTemp("", "leasedb-bench-") }

func TestMain(m *testing.M) {
	code := emulators.Run(m)
	if big.dir != "" {
		os.RemoveAll(big.dir)
	}
	os.Exit(code)
}
