package conformance

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/leasedb"
	"github.com/sharestore/sharestore/share"
)

// UpdateGoldenEnv, when set to 1, makes RunCrawlers rewrite its golden
// files from the current results instead of comparing with them. Only
// the sharestore repository itself should do that.
const UpdateGoldenEnv = "SHARESTORE_UPDATE_GOLDEN"

//go:embed testdata/crawlers/*.json
var goldenFS embed.FS

// crawlT0 is the fake clock's start for every crawler scenario.
var crawlT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type crawlScenario struct {
	name        string
	policy      leasedb.ExpirationPolicy
	dryRun      bool
	cycles      int
	retained    int
	lostDB      bool // start with an empty lease database
	failDeletes bool // deletes fail in the first cycle
	// rewrite rewrites every share in the first cycle just before its
	// delete, after the listing that judged it, as another writer could.
	rewrite bool
}

var crawlScenarios = []crawlScenario{
	{name: "basic", cycles: 2},
	{name: "expire-age", cycles: 1, policy: leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeAge, Override: 2000 * time.Second}},
	{name: "expire-cutoff-date", cycles: 1, policy: leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeCutoffDate, CutoffDate: crawlT0.Add(-2000 * time.Second)}},
	{name: "limited-history", cycles: 5, retained: 2},
	{name: "lost-leasedb", cycles: 1, lostDB: true},
	{name: "failed-delete", cycles: 2, failDeletes: true, policy: leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeAge, Override: 2000 * time.Second}},
	{name: "dry-run", cycles: 1, dryRun: true, policy: leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeAge, Override: 2000 * time.Second}},
	{name: "rewrite-before-delete", cycles: 1, rewrite: true, policy: leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeAge, Override: 2000 * time.Second}},
}

// RunCrawlers proves that the crawlers behave on the backend exactly as
// they do on every other: it plants a canonical fixture through the
// harness (immutable and mutable shares of both container versions, a
// corrupt share, fresh and expired leases, a share known to the lease
// database that has vanished, a COMING row, shares 1 and 10 of one SI, and
// an upload in progress during the crawl), drives the accounting and
// bucket-counting crawlers with a fake clock through the scenarios basic,
// expire-age, expire-cutoff-date, limited-history, lost-leasedb, vanished
// share (in every scenario), failed-delete, dry-run and
// rewrite-before-delete (every expired share is rewritten between its
// judgement and its delete, and must survive), and compares the
// final crawler states and a canonical dump of the lease database with
// golden files that are the same for every backend. Values that
// legitimately differ between backends (used space, and the disk-bytes
// counters derived from it) are left out of the comparison.
func RunCrawlers(t *testing.T, h Harness) {
	RunCrawlersWith(t, h, Options{Short: testing.Short()})
}

// RunCrawlersWith is RunCrawlers with options: o.LeaseDB runs the
// scenarios on another lease database, which must give the same golden
// results.
func RunCrawlersWith(t *testing.T, h Harness, o Options) {
	runGo(t, CrawlerTests(h, o), "Crawlers")
}

func fixtureSI(name string) sharestore.StorageIndex {
	var si sharestore.StorageIndex
	copy(si[:], fmt.Sprintf("%-16s", name))
	return si
}

type fixtureShare struct {
	si    sharestore.StorageIndex
	shnum int
	raw   []byte
	// lease: "" none in the database, "fresh", "expired"
	lease string
	typ   sharestore.ShareType
}

func mutableContainer(version int, data []byte) []byte {
	buf := &share.Buffer{B: share.NewMutable(version, sharestore.NodeID{}, sharestore.WriteEnabler{7})}
	h, err := share.Classify(buf.B, buf.Size())
	if err != nil {
		panic(err)
	}
	if _, err := share.ApplyMutableWrites(buf, h, []sharestore.DataVector{{Offset: 0, Data: data}}, nil); err != nil {
		panic(err)
	}
	return buf.B
}

func immutableContainer(version int, data []byte) []byte {
	return append(share.NewImmutableHeader(version, int64(len(data))), data...)
}

func crawlFixture() []fixtureShare {
	d := func(s string, n int) []byte { return bytes.Repeat([]byte(s), n) }
	return []fixtureShare{
		{fixtureSI("immutable-kept"), 0, immutableContainer(1, d("a", 1000)), "fresh", sharestore.ShareTypeImmutable},
		{fixtureSI("immutable-kept"), 1, immutableContainer(1, d("b", 1000)), "fresh", sharestore.ShareTypeImmutable},
		{fixtureSI("one-and-ten"), 1, immutableContainer(2, d("c", 700)), "expired", sharestore.ShareTypeImmutable},
		{fixtureSI("one-and-ten"), 10, immutableContainer(2, d("d", 700)), "fresh", sharestore.ShareTypeImmutable},
		{fixtureSI("mutable-kept"), 0, mutableContainer(1, d("m", 1000)), "fresh", sharestore.ShareTypeMutable},
		{fixtureSI("mutable-expired"), 2, mutableContainer(2, d("n", 1500)), "expired", sharestore.ShareTypeMutable},
		{fixtureSI("corrupt-expired"), 0, []byte("this is not a share container"), "expired", sharestore.ShareTypeCorrupt},
		{fixtureSI("discovered"), 4, immutableContainer(2, d("e", 300)), "", sharestore.ShareTypeImmutable},
		{fixtureSI("discovered-bad"), 0, []byte{0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "", sharestore.ShareTypeCorrupt},
	}
}

var (
	vanishedSI = fixtureSI("vanished")
	comingSI   = fixtureSI("coming")
	uploadSI   = fixtureSI("uploading")
)

func plantCrawlFixture(ctx context.Context, t TB, b sharestore.Backend, db *leasedb.DB, withDB bool) {
	t.Helper()
	for _, f := range crawlFixture() {
		if err := b.Shareset(f.si).PutRaw(ctx, f.shnum, bytes.NewReader(f.raw), int64(len(f.raw))); err != nil {
			t.Fatalf("plant %s/%d: %v", f.si, f.shnum, err)
		}
	}
	if !withDB {
		return
	}
	fresh, old := crawlT0, crawlT0.Add(-3000*time.Second)
	err := db.Update(ctx, func(tx *leasedb.Tx) error {
		for _, f := range crawlFixture() {
			if f.lease == "" {
				continue
			}
			if err := tx.AddNewShare(ctx, f.si, f.shnum, int64(len(f.raw)), f.typ, old); err != nil {
				return err
			}
			renew := fresh
			if f.lease == "expired" {
				renew = old
			}
			if err := tx.AddOrRenewLease(ctx, f.si, f.shnum, leasedb.AccountAnonymous, renew, renew.Add(leasedb.DefaultLeaseDuration)); err != nil {
				return err
			}
			if err := tx.MarkStable(ctx, f.si, f.shnum, int64(len(f.raw))); err != nil {
				return err
			}
		}
		// A share the database knows but the backend lost.
		if err := tx.AddNewShare(ctx, vanishedSI, 3, 500, sharestore.ShareTypeImmutable, old); err != nil {
			return err
		}
		if err := tx.AddOrRenewLease(ctx, vanishedSI, 3, leasedb.AccountAnonymous, fresh, fresh.Add(leasedb.DefaultLeaseDuration)); err != nil {
			return err
		}
		if err := tx.MarkStable(ctx, vanishedSI, 3, 500); err != nil {
			return err
		}
		// An upload a storage server has announced but not finished.
		return tx.AddNewShare(ctx, comingSI, 0, 800, sharestore.ShareTypeImmutable, fresh)
	})
	if err != nil {
		t.Fatalf("seed lease database: %v", err)
	}
}

func runCrawlScenario(t TB, h Harness, sc crawlScenario, o Options) {
	ctx := t.Context()
	b, err := h.NewBackend(ctx, t)
	if err != nil {
		t.Fatalf("NewBackend: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "leasedb.sqlite")
	if o.LeaseDB != nil {
		dbURL = o.LeaseDB(t)
	}
	db, err := leasedb.OpenURL(ctx, dbURL, leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	plantCrawlFixture(ctx, t, b, db, !sc.lostDB)

	// An upload that is in progress during every cycle.
	w, err := b.Shareset(uploadSI).WriteImmutable(ctx, 0, 100)
	if err != nil {
		t.Fatalf("start upload: %v", err)
	}
	if err := w.Write(ctx, 0, bytes.Repeat([]byte("u"), 100)); err != nil {
		t.Fatalf("upload write: %v", err)
	}

	clock := crawler.NewFakeClock(crawlT0)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := crawler.Config{CPUSlice: 1000 * time.Hour, OneShot: true, Logger: quiet}
	rewritten := rewriteDeletes{Backend: b, t: t, mu: &sync.Mutex{}, done: map[sharestore.ShareID][]byte{}}
	for cycle := 0; cycle < sc.cycles; cycle++ {
		cb := b
		if sc.failDeletes && cycle == 0 {
			cb = failDeletes{b}
		}
		if sc.rewrite && cycle == 0 {
			cb = rewritten
		}
		acct, err := crawler.NewAccounting(cb, db, clock, acctCfg(sc))
		if err != nil {
			t.Fatal(err)
		}
		if o.Workers > 1 {
			runWorkers(t, cb, dbURL, dir, clock, cfg, acctCfg(sc), o.Workers, cycle)
			clock.Advance(24 * time.Hour)
			continue
		}
		for _, c := range []crawler.Crawler{acct, crawler.NewBuckets(cb)} {
			e, err := crawler.New(c, filepath.Join(dir, c.Name()+".json"), clock, cfg, crawler.Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Run(ctx); err != nil {
				t.Fatalf("cycle %d, %s: %v", cycle, c.Name(), err)
			}
		}
		clock.Advance(24 * time.Hour)
	}

	// Every share rewritten after its judgement is the rewrite still.
	if sc.rewrite && len(rewritten.done) == 0 {
		t.Error("no share was rewritten before its delete")
	}
	for id, want := range rewritten.done {
		if got := readAll(ctx, t, b, id); !bytes.Equal(got, want) {
			t.Errorf("share %s/%d rewritten after its judgement was lost or changed (%d bytes, want %d)", id.SI, id.Shnum, len(got), len(want))
		}
	}

	// The upload was never recorded nor disturbed, and completes now.
	if _, err := db.LookupShare(ctx, uploadSI, 0); !errors.Is(err, sharestore.ErrNotFound) {
		t.Errorf("an upload in progress was recorded in the lease database: %v", err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatalf("upload in progress could not complete after the crawl: %v", err)
	}
	if _, err := b.Shareset(uploadSI).Share(ctx, 0); err != nil {
		t.Errorf("completed upload not visible: %v", err)
	}
	// Corrupt shares are never deleted, whatever their leases.
	for _, f := range crawlFixture() {
		if f.typ != sharestore.ShareTypeCorrupt {
			continue
		}
		if rc, _, err := b.Shareset(f.si).OpenRaw(ctx, f.shnum); err != nil {
			t.Errorf("corrupt share %s/%d was deleted: %v", f.si, f.shnum, err)
		} else {
			rc.Close()
		}
	}

	got := canonicalCrawlResult(t, ctx, db, dir)
	compareGolden(t, sc.name, got)
}

// acctCfg is the accounting crawler's configuration in scenario sc.
func acctCfg(sc crawlScenario) crawler.AccountingConfig {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return crawler.AccountingConfig{Policy: sc.policy, DryRun: sc.dryRun, RetainedHistory: sc.retained, Logger: quiet, Prefetch: true}
}

// runWorkers runs one cycle of each crawler on n engines that share it
// through the lease database at dbURL, each with a connection of its
// own, as n processes would. Worker 0 keeps its state where one engine
// would (dir), for the golden comparison; the others in dir/worker-i.
func runWorkers(t TB, b sharestore.Backend, dbURL, dir string, clock *crawler.FakeClock, cfg crawler.Config, acfg crawler.AccountingConfig, n, cycle int) {
	ctx := t.Context()
	for _, name := range []string{crawler.AccountingName, crawler.BucketsName} {
		var wg sync.WaitGroup
		errs := make([]error, n)
		for w := 0; w < n; w++ {
			db, err := leasedb.OpenURL(ctx, dbURL, leasedb.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			var c crawler.Crawler = crawler.NewBuckets(b)
			if name == crawler.AccountingName {
				if c, err = crawler.NewAccounting(b, db, clock, acfg); err != nil {
					t.Fatal(err)
				}
			}
			wdir := dir
			if w > 0 {
				wdir = filepath.Join(dir, fmt.Sprintf("worker-%d", w))
				if err := os.MkdirAll(wdir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			wcfg := cfg
			wcfg.Shared = &crawler.Sharing{DB: db, Worker: fmt.Sprintf("worker-%d", w), Store: "conformance", ClaimLease: time.Hour}
			e, err := crawler.New(c, filepath.Join(wdir, name+".json"), clock.Yielding(), wcfg, crawler.Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[w] = e.Run(ctx)
			}()
		}
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Fatalf("cycle %d, %s, worker %d of %d: %v", cycle, name, w, n, err)
			}
		}
	}
}

// failDeletes makes every delete fail with ErrUnavailable.
type failDeletes struct{ sharestore.Backend }

type failDeletesSet struct{ sharestore.Shareset }

func (f failDeletes) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return failDeletesSet{f.Backend.Shareset(si)}
}

func (failDeletesSet) DeleteShare(ctx context.Context, shnum int, g sharestore.Guard) error {
	return sharestore.Errorf(sharestore.ErrUnavailable, "injected delete failure")
}

// rewriteDeletes rewrites each share with a longer container just
// before deleting it, as another writer could between the crawler's
// listing and its delete, and remembers the rewrites.
type rewriteDeletes struct {
	sharestore.Backend
	t    TB
	mu   *sync.Mutex // guards done: the workers of a shared cycle delete at once
	done map[sharestore.ShareID][]byte
}

type rewriteDeletesSet struct {
	sharestore.Shareset
	r rewriteDeletes
}

func (r rewriteDeletes) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return rewriteDeletesSet{r.Backend.Shareset(si), r}
}

func (s rewriteDeletesSet) DeleteShare(ctx context.Context, shnum int, g sharestore.Guard) error {
	id := sharestore.ShareID{SI: s.StorageIndex(), Shnum: shnum}
	c := append(readAll(ctx, s.r.t, s.r.Backend, id), "rewritten"...)
	if err := s.PutRaw(ctx, shnum, bytes.NewReader(c), int64(len(c))); err != nil {
		s.r.t.Fatalf("rewrite %s/%d: %v", id.SI, shnum, err)
	}
	s.r.mu.Lock()
	s.r.done[id] = c
	s.r.mu.Unlock()
	return s.Shareset.DeleteShare(ctx, shnum, g)
}

// readAll returns a share's stored container.
func readAll(ctx context.Context, t TB, b sharestore.Backend, id sharestore.ShareID) []byte {
	t.Helper()
	r, _, err := b.Shareset(id.SI).OpenRaw(ctx, id.Shnum)
	if err != nil {
		t.Fatalf("read %s/%d: %v", id.SI, id.Shnum, err)
	}
	defer r.Close()
	c, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s/%d: %v", id.SI, id.Shnum, err)
	}
	return c
}

func canonicalCrawlResult(t TB, ctx context.Context, db *leasedb.DB, dir string) []byte {
	t.Helper()
	dump, err := db.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"leasedb": dump}
	for _, name := range []string{crawler.AccountingName, crawler.BucketsName} {
		b, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		out[name+"-state"] = json.RawMessage(b)
	}
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	v = stripBackendSpecific(v)
	pretty, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return append(pretty, '\n')
}

// stripBackendSpecific removes the values that differ between backends
// by design: used space (st_blocks on disk, object sizes in a bucket) and
// the disk-bytes counters computed from it. Nested JSON strings (history
// entries) are decoded so that their keys are canonical too.
func stripBackendSpecific(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if k == "used_space" || strings.Contains(k, "diskbytes") || k == "LeasedBytes" {
				continue
			}
			out[k] = stripBackendSpecific(val)
		}
		return out
	case []any:
		for i := range x {
			x[i] = stripBackendSpecific(x[i])
		}
		return x
	case string:
		if strings.HasPrefix(x, "{") {
			var inner any
			if json.Unmarshal([]byte(x), &inner) == nil {
				return stripBackendSpecific(inner)
			}
		}
	}
	return v
}

func goldenPath(name string) string { return "testdata/crawlers/" + name + ".json" }

func compareGolden(t TB, name string, got []byte) {
	t.Helper()
	if os.Getenv(UpdateGoldenEnv) == "1" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			t.Fatal("cannot locate the conformance package to update golden files")
		}
		p := filepath.Join(filepath.Dir(file), filepath.FromSlash(goldenPath(name)))
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated %s", p)
		return
	}
	want, err := goldenFS.ReadFile(goldenPath(name))
	if err != nil {
		t.Fatalf("golden file %s missing (run with %s=1 in the sharestore repository): %v", goldenPath(name), UpdateGoldenEnv, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("crawler results differ from the golden file %s:\n  %s", goldenPath(name), strings.Join(goldenDiff(want, got), "\n  "))
	}
}
