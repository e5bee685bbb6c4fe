package crawler

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/leasedb"
)

type acctFixture struct {
	b     sharestore.Backend
	db    *leasedb.DB
	clock *FakeClock
	dir   string
	sis   [4]sharestore.StorageIndex
}

func siOf(b byte) sharestore.StorageIndex {
	var s sharestore.StorageIndex
	for i := range s {
		s[i] = b
	}
	return s
}

// newAcctFixture builds Tahoe's AccountingCrawlerTest fixture:
// immutable SIs 0x00… (prefix aa) and 0x01… (ae) and mutable SIs
// 0x02… (ai) and 0x03… (am), one 1000-byte share each, recorded in the
// lease database as a storage server would, each with an anonymous lease,
// plus a starter lease on 0x01… and 0x03….
func newAcctFixture(t *testing.T) *acctFixture {
	t.Helper()
	return newAcctFixtureOn(t, "")
}

// newAcctFixtureOn is newAcctFixture with the lease database at dbURL
// (as leasedb.OpenURL takes it), or in the fixture's directory if "".
func newAcctFixtureOn(t *testing.T, dbURL string) *acctFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	b, err := disk.Open(filepath.Join(dir, "store"), disk.Options{Create: true})
	if err != nil {
		// Open needs the directory to exist.
		b = nil
	}
	if b == nil {
		t.Fatal(err)
	}
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(dir, "leasedb.sqlite")
	}
	db, err := leasedb.OpenURL(ctx, dbURL, leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(); b.Close() })
	f := &acctFixture{b: b, db: db, clock: NewFakeClock(t0), dir: dir}
	data := []byte(strings.Repeat("x", 1000))
	for i := 0; i < 4; i++ {
		si := siOf(byte(i))
		f.sis[i] = si
		typ := sharestore.ShareTypeImmutable
		if i < 2 {
			w, err := b.Shareset(si).WriteImmutable(ctx, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(ctx, 0, data)
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
		} else {
			typ = sharestore.ShareTypeMutable
			ok, _, err := b.Shareset(si).TestAndReadAndWrite(ctx, sharestore.WriteEnabler{1}, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{{Offset: 0, Data: data}}}}, nil)
			if !ok || err != nil {
				t.Fatal(err)
			}
		}
		sh, err := b.Shareset(si).Share(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(ctx, func(tx *leasedb.Tx) error {
			if err := tx.AddNewShare(ctx, si, 0, sh.UsedSpace, typ, t0); err != nil {
				return err
			}
			if err := tx.AddOrRenewLease(ctx, si, 0, leasedb.AccountAnonymous, t0, t0.Add(leasedb.DefaultLeaseDuration)); err != nil {
				return err
			}
			if i%2 == 1 {
				if err := tx.AddStarterLease(ctx, si, 0, t0); err != nil {
					return err
				}
			}
			return tx.MarkStable(ctx, si, 0, sh.UsedSpace)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *acctFixture) engine(t *testing.T, cfg AccountingConfig, h Hooks) (*Engine, *Accounting) {
	t.Helper()
	cfg.Logger = quiet
	a, err := NewAccounting(f.b, f.db, f.clock, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(a, filepath.Join(f.dir, "accounting.json"), f.clock, Config{CPUSlice: time.Hour, OneShot: true, Logger: quiet}, h)
	if err != nil {
		t.Fatal(err)
	}
	return e, a
}

func (f *acctFixture) leaseCounts(t *testing.T, si sharestore.StorageIndex) (anon, starter int) {
	t.Helper()
	ls, err := f.db.Leases(context.Background(), si)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		switch l.Account {
		case leasedb.AccountAnonymous:
			anon++
		case leasedb.AccountStarter:
			starter++
		}
	}
	return
}

func lastHistory(t *testing.T, a *Accounting, e *Engine) HistoryEntry {
	t.Helper()
	rep, err := a.Report(context.Background(), e.State())
	if err != nil {
		t.Fatal(err)
	}
	var last = -1
	for c := range rep.History {
		if c > last {
			last = c
		}
	}
	if last < 0 {
		t.Fatal("no history")
	}
	return rep.History[last]
}

// Scenario 45: expiration off.
func TestAccountingBasic(t *testing.T) {
	f := newAcctFixture(t)
	ctx := context.Background()
	var afterAA *CycleReport
	var e *Engine
	var a *Accounting
	e, a = f.engine(t, AccountingConfig{}, Hooks{AfterPrefix: func(c int, p sharestore.Prefix) {
		if p == "aa" {
			r, err := a.Report(ctx, e.State())
			if err != nil {
				t.Fatal(err)
			}
			afterAA = &r
		}
	}})
	rep, _ := a.Report(ctx, e.State())
	if rep.SoFar != nil || len(rep.History) != 0 {
		t.Fatalf("before start: %+v", rep)
	}
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	so := afterAA.SoFar
	if so.Counters["examined-buckets"] != 1 || so.Counters["examined-shares"] != 1 || so.Counters["actual-shares"] != 0 ||
		len(so.Histogram) != 1 || so.Histogram[0] != [3]int64{0, 86400, 1} {
		t.Fatalf("after aa: %+v", so)
	}
	if got := RecoveredText(so.Counters, "actual"); got != "0 shares, 0 sharesets (0 mutable / 0 immutable), 0 B (0 B / 0 B)" {
		t.Fatalf("text %q", got)
	}
	if afterAA.Whole.SpaceRecovered["examined-shares"] <= 0 || afterAA.Remaining.SpaceRecovered["examined-shares"] <= 0 {
		t.Fatalf("estimates %+v", afterAA.Whole)
	}
	h := lastHistory(t, a, e)
	c := h.SpaceRecovered
	if len(h.Histogram) != 1 || h.Histogram[0] != [3]int64{0, 86400, 6} {
		t.Fatalf("histogram %v", h.Histogram)
	}
	if c["examined-buckets"] != 4 || c["examined-shares"] != 4 || c["actual-buckets"] != 0 || c["actual-shares"] != 0 || c["actual-diskbytes"] != 0 {
		t.Fatalf("counters %v", c)
	}
	if c["examined-buckets-mutable"] != 2 || c["examined-buckets-immutable"] != 2 || c["examined-sharebytes"] != 2*1012+2*(1000+472) {
		t.Fatalf("per-type counters %v", c)
	}
	for i, want := range [][2]int{{1, 0}, {1, 1}, {1, 0}, {1, 1}} {
		anon, starter := f.leaseCounts(t, f.sis[i])
		if anon != want[0] || starter != want[1] {
			t.Errorf("si%d leases (%d,%d) want %v", i, anon, starter, want)
		}
	}
	if h.ExpirationEnabled || len(h.Corrupt) != 0 {
		t.Fatalf("history %+v", h)
	}
	// A second cycle over an unchanged store adds, removes and deletes
	// nothing.
	e2, a2 := f.engine(t, AccountingConfig{}, Hooks{})
	if err := e2.Run(ctx); err != nil {
		t.Fatal(err)
	}
	c = lastHistory(t, a2, e2).SpaceRecovered
	if c["added"] != 0 || c["vanished"] != 0 || c["actual-shares"] != 0 || c["examined-shares"] != 4 {
		t.Fatalf("rerun counters %v", c)
	}
}

func backdate(t *testing.T, f *acctFixture, policyMode string) {
	t.Helper()
	ctx := context.Background()
	old := t0.Add(-3000 * time.Second)
	err := f.db.Update(ctx, func(tx *leasedb.Tx) error {
		for i, si := range f.sis {
			acct := leasedb.AccountAnonymous
			if i%2 == 1 {
				acct = leasedb.AccountStarter
			}
			if err := tx.AddOrRenewLease(ctx, si, 0, acct, old, old.Add(leasedb.DefaultLeaseDuration)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Scenarios 46, 47 and 53: age expiration with an override of 2000 s, and
// the same through a cutoff date.
func TestAccountingExpire(t *testing.T) {
	for _, mode := range []string{"age", "cutoff-date"} {
		t.Run(mode, func(t *testing.T) {
			f := newAcctFixture(t)
			backdate(t, f, mode)
			ctx := context.Background()
			p := leasedb.ExpirationPolicy{Enabled: true, Mode: mode, Override: 2000 * time.Second}
			if mode == "cutoff-date" {
				p = leasedb.ExpirationPolicy{Enabled: true, Mode: mode, CutoffDate: t0.Add(-2000 * time.Second)}
			}
			var afterAA CycleReport
			var e *Engine
			var a *Accounting
			e, a = f.engine(t, AccountingConfig{Policy: p}, Hooks{AfterPrefix: func(c int, pf sharestore.Prefix) {
				if pf == "aa" {
					afterAA, _ = a.Report(ctx, e.State())
				}
			}})
			if err := e.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if got := RecoveredText(afterAA.Remaining.SpaceRecovered, "actual"); !strings.HasPrefix(got, "4 shares, 4 sharesets") {
				t.Errorf("remaining %q", got)
			}
			if got := RecoveredText(afterAA.Whole.SpaceRecovered, "actual"); !strings.HasPrefix(got, "5 shares, 5 sharesets") || afterAA.Whole.SpaceRecovered["examined-shares"] != 5 {
				t.Errorf("whole %q", got)
			}
			h := lastHistory(t, a, e)
			c := h.SpaceRecovered
			if c["examined-shares"] != 4 || c["examined-buckets"] != 4 || c["actual-buckets"] != 2 || c["actual-shares"] != 2 {
				t.Fatalf("counters %v", c)
			}
			if c["actual-diskbytes"] <= 0 || c["actual-sharebytes"] != 1012+1472 || c["actual-shares-mutable"] != 1 || c["actual-shares-immutable"] != 1 {
				t.Fatalf("bytes recovered %v", c)
			}
			if got := RecoveredText(c, "actual"); !strings.HasPrefix(got, "2 shares, 2 sharesets (1 mutable / 1 immutable), ") {
				t.Fatalf("text %q", got)
			}
			for i, si := range f.sis {
				_, err := f.b.Shareset(si).Share(ctx, 0)
				anon, starter := f.leaseCounts(t, si)
				if i%2 == 0 {
					if !errors.Is(err, sharestore.ErrNotFound) || anon+starter != 0 {
						t.Errorf("si%d kept: %v leases %d,%d", i, err, anon, starter)
					}
				} else if err != nil || anon != 1 || starter != 0 {
					t.Errorf("si%d: %v leases (%d,%d)", i, err, anon, starter)
				}
			}
			if !h.ExpirationEnabled || h.Mode[0] != mode {
				t.Fatalf("mode %v", h.Mode)
			}
		})
	}
}

// Scenario 48: after the lease database is lost, one cycle gives every
// stored share exactly one starter lease expiring 60 days later; the new
// rows are STABLE (scenario 51).
func TestAccountingLostLeaseDB(t *testing.T) {
	f := newAcctFixture(t)
	ctx := context.Background()
	f.db.Close()
	fresh, err := leasedb.Open(ctx, filepath.Join(f.dir, "rebuilt.sqlite"), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	f.db = fresh
	e, a := f.engine(t, AccountingConfig{}, Hooks{})
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, si := range f.sis {
		ls, _ := fresh.Leases(ctx, si)
		if len(ls) != 1 || ls[0].Account != leasedb.AccountStarter || !ls[0].Expiration.Equal(t0.Add(60*24*time.Hour)) {
			t.Fatalf("%s leases %+v", si, ls)
		}
		sh, err := fresh.LookupShare(ctx, si, 0)
		if err != nil || sh.State != leasedb.StateStable {
			t.Fatalf("row %+v %v", sh, err)
		}
	}
	c := lastHistory(t, a, e).SpaceRecovered
	if c["added"] != 4 || c["examined-shares"] != 4 {
		t.Fatalf("counters %v", c)
	}
}

// Scenario 50: a corrupt share is counted and listed, never deleted, and
// the crawl goes on.
func TestAccountingCorruptNeverDeleted(t *testing.T) {
	f := newAcctFixture(t)
	ctx := context.Background()
	bad := siOf(9)
	junk := "this is not a share container"
	if err := f.b.Shareset(bad).PutRaw(ctx, 3, strings.NewReader(junk), int64(len(junk))); err != nil {
		t.Fatal(err)
	}
	// Expire everything: the corrupt share's starter lease too.
	p := leasedb.ExpirationPolicy{Enabled: true, Mode: "cutoff-date", CutoffDate: t0.Add(1000 * 24 * time.Hour)}
	for cycle := 0; cycle < 2; cycle++ {
		e, a := f.engine(t, AccountingConfig{Policy: p}, Hooks{})
		if err := e.Run(ctx); err != nil {
			t.Fatal(err)
		}
		h := lastHistory(t, a, e)
		if len(h.Corrupt) != 1 || h.Corrupt[0] != (CorruptShare{SI: bad.String(), Shnum: 3}) || h.SpaceRecovered["examined-shares-corrupt"] != 1 {
			t.Fatalf("cycle %d: corrupt %v %v", cycle, h.Corrupt, h.SpaceRecovered)
		}
		if _, _, err := f.b.Shareset(bad).OpenRaw(ctx, 3); err != nil {
			t.Fatalf("corrupt share deleted: %v", err)
		}
		f.clock.Advance(24 * time.Hour)
	}
}

// failingDelete wraps a backend so that deletes fail.
type failingDelete struct {
	sharestore.Backend
	fail bool
}

type failingShareset struct {
	sharestore.Shareset
	f *failingDelete
}

func (f *failingDelete) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return &failingShareset{Shareset: f.Backend.Shareset(si), f: f}
}

func (s *failingShareset) DeleteShare(ctx context.Context, shnum int, g sharestore.Guard) error {
	if s.f.fail {
		return sharestore.Errorf(sharestore.ErrUnavailable, "injected delete failure")
	}
	return s.Shareset.DeleteShare(ctx, shnum, g)
}

// Scenario 52: a failed delete goes back to STABLE and is retried next
// cycle; dry-run deletes nothing but reports what it would.
func TestAccountingFailedDeleteAndDryRun(t *testing.T) {
	f := newAcctFixture(t)
	backdate(t, f, "age")
	ctx := context.Background()
	p := leasedb.ExpirationPolicy{Enabled: true, Mode: "age", Override: 2000 * time.Second}

	e, a := f.engine(t, AccountingConfig{Policy: p, DryRun: true}, Hooks{})
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	c := lastHistory(t, a, e).SpaceRecovered
	if c["configured-shares"] != 2 || c["actual-shares"] != 0 {
		t.Fatalf("dry-run counters %v", c)
	}
	for _, si := range f.sis {
		if _, err := f.b.Shareset(si).Share(ctx, 0); err != nil {
			t.Fatalf("dry-run deleted %s", si)
		}
		if anon, starter := f.leaseCounts(t, si); anon+starter == 0 {
			t.Fatalf("dry-run removed leases of %s", si)
		}
	}

	fd := &failingDelete{Backend: f.b, fail: true}
	real := f.b
	f.b = fd
	e, a = f.engine(t, AccountingConfig{Policy: p}, Hooks{})
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	c = lastHistory(t, a, e).SpaceRecovered
	if c["delete-failed"] != 2 || c["actual-shares"] != 0 {
		t.Fatalf("failed-delete counters %v", c)
	}
	for _, i := range []int{0, 2} {
		sh, err := f.db.LookupShare(ctx, f.sis[i], 0)
		if err != nil || sh.State != leasedb.StateStable {
			t.Fatalf("si%d row after failed delete: %+v %v", i, sh, err)
		}
	}
	fd.fail = false
	f.b = real
	e, a = f.engine(t, AccountingConfig{Policy: p}, Hooks{})
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if c = lastHistory(t, a, e).SpaceRecovered; c["actual-shares"] != 2 {
		t.Fatalf("retry counters %v", c)
	}
}

// A lease added between planning and deleting rescues the share: the
// lease is re-checked under the SI lock just before the delete.
func TestAccountingLeaseRecheck(t *testing.T) {
	f := newAcctFixture(t)
	checkLeaseRecheck(t, f, f.db)
}

// checkLeaseRecheck runs an expiring cycle over f in which server adds a
// lease just before each delete, and checks that both expired shares are
// rescued: still stored, and STABLE in f's lease database.
func checkLeaseRecheck(t *testing.T, f *acctFixture, server *leasedb.DB) {
	t.Helper()
	backdate(t, f, "age")
	ctx := context.Background()
	p := leasedb.ExpirationPolicy{Enabled: true, Mode: "age", Override: 2000 * time.Second}
	rb := &renewBeforeDelete{Backend: f.b, db: server, t: t}
	f.b = rb
	e, a := f.engine(t, AccountingConfig{Policy: p}, Hooks{})
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	c := lastHistory(t, a, e).SpaceRecovered
	if c["lease-rescued"] != 2 || c["actual-shares"] != 0 {
		t.Fatalf("counters %v", c)
	}
	for _, si := range f.sis {
		if _, err := rb.Backend.Shareset(si).Share(ctx, 0); err != nil {
			t.Fatalf("%s deleted despite a new lease", si)
		}
		sh, err := f.db.LookupShare(ctx, si, 0)
		if err != nil || sh.State != leasedb.StateStable {
			t.Fatalf("%s after the rescue: %+v, %v (want a STABLE row)", si, sh, err)
		}
	}
}

// renewBeforeDelete adds a lease just before each delete, as a client
// renewing at the last moment would.
type renewBeforeDelete struct {
	sharestore.Backend
	db *leasedb.DB
	t  *testing.T
}

type renewShareset struct {
	sharestore.Shareset
	r *renewBeforeDelete
}

func (r *renewBeforeDelete) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return &renewShareset{Shareset: r.Backend.Shareset(si), r: r}
}

func (s *renewShareset) DeleteShare(ctx context.Context, shnum int, g sharestore.Guard) error {
	err := s.r.db.Update(ctx, func(tx *leasedb.Tx) error {
		return tx.AddOrRenewLease(ctx, s.StorageIndex(), shnum, leasedb.AccountAnonymous, t0, t0.Add(time.Hour))
	})
	if err != nil {
		s.r.t.Fatal(err)
	}
	return s.Shareset.DeleteShare(ctx, shnum, g)
}

// Scenario 35 through the crawler: with retained history 2, five cycles
// leave cycles 3 and 4.
func TestAccountingLimitedHistory(t *testing.T) {
	f := newAcctFixture(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		e, _ := f.engine(t, AccountingConfig{RetainedHistory: 2}, Hooks{})
		if err := e.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	h, err := f.db.History(ctx)
	if err != nil || len(h) != 2 || h[3] == nil || h[4] == nil {
		t.Fatalf("history keys %v %v", h, err)
	}
}

// A share whose row vanished is removed from the database; a share being
// written (in incoming/) is neither recorded nor deleted.
func TestAccountingVanishedAndInFlight(t *testing.T) {
	f := newAcctFixture(t)
	ctx := context.Background()
	w, err := f.b.Shareset(siOf(7)).WriteImmutable(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.b.Shareset(f.sis[0]).DeleteShare(ctx, 0, nil); err != nil {
		t.Fatal(err)
	}
	p := leasedb.ExpirationPolicy{Enabled: true, Mode: "cutoff-date", CutoffDate: t0.Add(1000 * 24 * time.Hour)}
	e, a := f.engine(t, AccountingConfig{Policy: p}, Hooks{})
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	c := lastHistory(t, a, e).SpaceRecovered
	if c["vanished"] != 1 || c["examined-shares"] != 3 {
		t.Fatalf("counters %v", c)
	}
	if _, err := f.db.LookupShare(ctx, f.sis[0], 0); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("vanished row kept: %v", err)
	}
	w.Write(ctx, 0, []byte("0123456789"))
	if err := w.Close(ctx); err != nil {
		t.Fatalf("upload in flight was disturbed: %v", err)
	}
}

// Stale COMING rows are settled: a listed one becomes STABLE, a missing
// one is removed; fresh ones are left alone.
func TestAccountingComingGrace(t *testing.T) {
	f := newAcctFixture(t)
	ctx := context.Background()
	ghost, fresh := siOf(5), siOf(6)
	err := f.db.Update(ctx, func(tx *leasedb.Tx) error {
		if err := tx.AddNewShare(ctx, ghost, 0, 100, sharestore.ShareTypeImmutable, t0.Add(-30*24*time.Hour)); err != nil {
			return err
		}
		if err := tx.AddNewShare(ctx, fresh, 0, 100, sharestore.ShareTypeImmutable, t0); err != nil {
			return err
		}
		return tx.AddNewShare(ctx, f.sis[1], 0, 100, sharestore.ShareTypeImmutable, t0.Add(-30*24*time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	e, a := f.engine(t, AccountingConfig{}, Hooks{})
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.LookupShare(ctx, ghost, 0); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("stale missing COMING row kept: %v", err)
	}
	if sh, err := f.db.LookupShare(ctx, fresh, 0); err != nil || sh.State != leasedb.StateComing {
		t.Fatalf("fresh COMING row touched: %+v %v", sh, err)
	}
	if sh, err := f.db.LookupShare(ctx, f.sis[1], 0); err != nil || sh.State != leasedb.StateStable {
		t.Fatalf("stale listed COMING row not stable: %+v %v", sh, err)
	}
	if c := lastHistory(t, a, e).SpaceRecovered; c["coming-settled"] != 2 {
		t.Fatalf("counters %v", c)
	}
}

// Prefetching the next prefix's listing changes nothing in the results.
func TestAccountingPrefetchSameResult(t *testing.T) {
	results := map[bool]map[string]int64{}
	for _, pf := range []bool{false, true} {
		f := newAcctFixture(t)
		backdate(t, f, "age")
		p := leasedb.ExpirationPolicy{Enabled: true, Mode: "age", Override: 2000 * time.Second}
		e, a := f.engine(t, AccountingConfig{Policy: p, Prefetch: pf}, Hooks{})
		if err := e.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		results[pf] = lastHistory(t, a, e).SpaceRecovered
	}
	for k, v := range results[false] {
		if results[true][k] != v {
			t.Errorf("%s: %d with prefetch, %d without", k, results[true][k], v)
		}
	}
	if results[true]["actual-shares"] != 2 {
		t.Fatalf("prefetch run: %v", results[true])
	}
}

// staleListing lists as if a share had not arrived yet: ListPrefix omits
// hidden, though Share finds it.
type staleListing struct {
	sharestore.Backend
	hidden sharestore.ShareID
}

func (s *staleListing) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	return s.Backend.ListPrefix(ctx, p, func(i sharestore.ShareInfo) error {
		if i.ID() == s.hidden {
			return nil
		}
		return fn(i)
	})
}

// A STABLE share missing from a listing that is older than the share
// keeps its row and its leases: the crawler confirms with a direct read
// that it is gone before removing the row.
func TestAccountingStaleListingKeepsLeases(t *testing.T) {
	for _, prefetch := range []bool{false, true} {
		f := newAcctFixture(t)
		ctx := context.Background()
		hidden := sharestore.ShareID{SI: f.sis[1], Shnum: 0}
		f.b = &staleListing{Backend: f.b, hidden: hidden}
		e, a := f.engine(t, AccountingConfig{Prefetch: prefetch}, Hooks{})
		if err := e.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if c := lastHistory(t, a, e).SpaceRecovered; c["vanished"] != 0 || c["examined-shares"] != 3 {
			t.Fatalf("prefetch %v: counters %v", prefetch, c)
		}
		if anon, starter := f.leaseCounts(t, hidden.SI); anon != 1 || starter != 1 {
			t.Fatalf("prefetch %v: leases of the share missing from the listing: %d anonymous, %d starter; want 1, 1", prefetch, anon, starter)
		}
	}
}

// batchHeaders is a backend that reads headers in batches (as a plugin
// does) and counts its calls.
type batchHeaders struct {
	sharestore.Backend
	batches, ids int
}

func (b *batchHeaders) ReadHeaders(ctx context.Context, ids []sharestore.ShareID, fn func(sharestore.ShareID, sharestore.Share, error)) error {
	b.batches++
	b.ids += len(ids)
	return sharestore.ReadHeaders(ctx, b.Backend, ids, 1, fn)
}

// A prefix's new shares are classified in one batch when the backend
// reads batches.
func TestAccountingBatchHeaderReads(t *testing.T) {
	f := newAcctFixture(t)
	ctx := context.Background()
	// Three more shares under the prefix of f.sis[0], new to the database.
	for shnum := 1; shnum <= 3; shnum++ {
		w, err := f.b.Shareset(f.sis[0]).WriteImmutable(ctx, shnum, 10)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(ctx, 0, []byte("0123456789"))
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	bh := &batchHeaders{Backend: f.b}
	f.b = bh
	e, a := f.engine(t, AccountingConfig{}, Hooks{})
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if bh.batches != 1 || bh.ids != 3 {
		t.Fatalf("%d batches of %d headers in all, want 1 of 3", bh.batches, bh.ids)
	}
	if c := lastHistory(t, a, e).SpaceRecovered; c["added"] != 3 || c["examined-shares-immutable"] != 5 {
		t.Fatalf("counters %v", c)
	}
}

// siAt returns a storage index under the prefix at index k, told apart
// by n.
func siAt(k int, n byte) sharestore.StorageIndex {
	var s sharestore.StorageIndex
	s[0], s[1], s[15] = byte(k>>2), byte(k&3)<<6, n
	return s
}

// countedHeaders reads headers in batches, as a plugin does, and counts
// the reads of each share. The crawler calls it from more than one
// goroutine when it reads ahead.
type countedHeaders struct {
	sharestore.Backend
	mu      sync.Mutex
	batches int
	reads   map[sharestore.ShareID]int
}

func (c *countedHeaders) ReadHeaders(ctx context.Context, ids []sharestore.ShareID, fn func(sharestore.ShareID, sharestore.Share, error)) error {
	c.mu.Lock()
	c.batches++
	for _, id := range ids {
		c.reads[id]++
	}
	c.mu.Unlock()
	return sharestore.ReadHeaders(ctx, c.Backend, ids, 2, fn) // uncounted Share calls
}

// Shareset counts the header reads the crawler makes one by one too.
func (c *countedHeaders) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return &countedShareset{Shareset: c.Backend.Shareset(si), c: c, si: si}
}

type countedShareset struct {
	sharestore.Shareset
	c  *countedHeaders
	si sharestore.StorageIndex
}

func (s *countedShareset) Share(ctx context.Context, shnum int) (sharestore.Share, error) {
	s.c.mu.Lock()
	s.c.reads[sharestore.ShareID{SI: s.si, Shnum: shnum}]++
	s.c.mu.Unlock()
	return s.Shareset.Share(ctx, shnum)
}

// In a first cycle with Prefetch, the headers of the next prefix are
// read while a prefix is reconciled and then used, every header is read
// once, and the results are those of a cycle without Prefetch. A steady
// cycle reads no header at all.
func TestAccountingReadsHeadersAhead(t *testing.T) {
	ctx := context.Background()
	// Prefixes 0-9 and 11 hold three new shares each; 10 holds none.
	var want []sharestore.ShareID
	for k := 0; k <= 11; k++ {
		if k == 10 {
			continue
		}
		for n := byte(0); n < 3; n++ {
			want = append(want, sharestore.ShareID{SI: siAt(k, n), Shnum: int(n)})
		}
	}
	results := map[bool]map[string]int64{}
	for _, prefetch := range []bool{false, true} {
		dir := t.TempDir()
		b, err := disk.Open(filepath.Join(dir, "store"), disk.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		db, err := leasedb.Open(ctx, filepath.Join(dir, "leasedb.sqlite"), leasedb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close(); b.Close() })
		for _, id := range want {
			w, err := b.Shareset(id.SI).WriteImmutable(ctx, id.Shnum, 10)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(ctx, 0, []byte("0123456789"))
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
		ch := &countedHeaders{Backend: b, reads: map[sharestore.ShareID]int{}}
		f := &acctFixture{b: ch, db: db, clock: NewFakeClock(t0), dir: dir}
		e, a := f.engine(t, AccountingConfig{Prefetch: prefetch}, Hooks{})
		if err := e.Run(ctx); err != nil {
			t.Fatal(err)
		}
		results[prefetch] = lastHistory(t, a, e).SpaceRecovered
		for _, id := range want {
			if ch.reads[id] != 1 {
				t.Errorf("prefetch %v: header of %v read %d times, want once", prefetch, id, ch.reads[id])
			}
		}
		if len(ch.reads) != len(want) {
			t.Errorf("prefetch %v: %d headers read, want %d", prefetch, len(ch.reads), len(want))
		}
		// With Prefetch, prefixes 1-9 use headers read ahead; 0 and 11
		// (after the empty 10) read their own.
		wantUsed, wantBatches := 0, 11
		if prefetch {
			wantUsed = 9
		}
		if a.aheadUsed != wantUsed || ch.batches != wantBatches {
			t.Errorf("prefetch %v: %d prefixes used headers read ahead in %d batches; want %d in %d",
				prefetch, a.aheadUsed, ch.batches, wantUsed, wantBatches)
		}
		// A second, steady cycle reads nothing and reads nothing ahead.
		ch.reads, ch.batches, a.aheadUsed = map[sharestore.ShareID]int{}, 0, 0
		e2, err := New(a, filepath.Join(dir, "accounting.json"), f.clock, Config{CPUSlice: time.Hour, OneShot: true, Logger: quiet}, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Hour)
		if err := e2.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if len(ch.reads) != 0 || a.aheadUsed != 0 {
			t.Errorf("prefetch %v: steady cycle read %d headers, %d prefixes ahead; want none", prefetch, len(ch.reads), a.aheadUsed)
		}
	}
	if results[true]["added"] != int64(len(want)) {
		t.Fatalf("with prefetch: %v", results[true])
	}
	for k, v := range results[false] {
		if results[true][k] != v {
			t.Errorf("%s: %d with prefetch, %d without", k, results[true][k], v)
		}
	}
}
