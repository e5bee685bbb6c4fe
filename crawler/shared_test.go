package crawler

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/emulators"
	"github.com/sharestore/sharestore/leasedb"
)

const (
	sharedShares = 240
	sharedLease  = 10 * time.Minute
)

// sharedSI is the storage index of share i of the shared fixture,
// spread over the prefixes.
func sharedSI(i int) sharestore.StorageIndex {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	h := sha256.Sum256(b[:])
	var si sharestore.StorageIndex
	copy(si[:], h[:])
	return si
}

// sharedFixture is a disk store of sharedShares immutable shares.
func sharedFixture(t *testing.T) sharestore.Backend {
	t.Helper()
	ctx := context.Background()
	b, err := disk.Open(filepath.Join(t.TempDir(), "store"), disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	for i := 0; i < sharedShares; i++ {
		w, err := b.Shareset(sharedSI(i)).WriteImmutable(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(ctx, 0, []byte(strings.Repeat(fmt.Sprint(i%10), 100)))
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// sharedRun is one run of the shared scenario: a first cycle that finds
// every share (starter leases, 30 days before t0), fresh leases for two
// thirds of them, and a second cycle at t0 that expires the rest and
// deletes their shares.
type sharedRun struct {
	t       *testing.T
	b       sharestore.Backend
	clock   *FakeClock
	open    func() *leasedb.DB // a lease database handle, as a process has
	workers int                // 0: one engine without sharing
	// kill, if positive, makes worker 0 of the second cycle die (its
	// context ends, its claims stay) at its kill-th listing.
	kill int
	// zombie makes worker 0 of the second cycle stall when it reads the
	// header of the share new to the cycle (in the prefix of share 0,
	// which the cycle deletes), until its claims ran out and worker 1
	// (which starts only then) did that prefix; it then goes on with its
	// stale listing.
	zombie bool
	// newShares adds two shares before the second cycle, in the prefix
	// of share 0.
	newShares bool
	// advance moves the clock before the second cycle, as the zombie run
	// moves it in the middle of that cycle.
	advance time.Duration
}

func (r sharedRun) run() (*leasedb.Dump, []sharestore.ShareID) {
	t, ctx := r.t, context.Background()
	policyOff := leasedb.ExpirationPolicy{}
	r.cycle(0, policyOff)
	db := r.open()
	err := db.Update(ctx, func(tx *leasedb.Tx) error {
		for i := 0; i < sharedShares; i++ {
			if i%3 == 0 {
				continue
			}
			if err := tx.AddOrRenewLease(ctx, sharedSI(i), 0, leasedb.AccountAnonymous, t0, t0.Add(leasedb.DefaultLeaseDuration)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Shares new to the second cycle, in the prefix of share 0: two, so
	// that their headers are read outside the prefix's transaction.
	for k := 0; k < 2 && r.newShares; k++ {
		newSI := sharedSI(0)
		newSI[15] ^= byte(0xf0 + k)
		w, err := r.b.Shareset(newSI).WriteImmutable(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(ctx, 0, []byte(strings.Repeat("n", 100)))
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r.clock.Advance(30*24*time.Hour + r.advance)
	r.cycle(1, leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeCutoffDate, CutoffDate: t0.Add(-time.Hour)})
	dump, err := db.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []sharestore.ShareID
	for i := 0; i < sharedShares; i++ {
		if _, err := r.b.Shareset(sharedSI(i)).Share(ctx, 0); err == nil {
			left = append(left, sharestore.ShareID{SI: sharedSI(i), Shnum: 0})
		}
	}
	return dump, left
}

// cycle runs one cycle of the accounting crawler with policy, on one
// engine or on r.workers workers that share it.
func (r sharedRun) cycle(n int, policy leasedb.ExpirationPolicy) {
	t := r.t
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	workers := max(r.workers, 1)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	died := make(chan struct{})
	zombie := r.zombie && n == 1
	listed, redone := make(chan struct{}), make(chan struct{})
	for w := 0; w < workers; w++ {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b := r.b
		if r.kill > 0 && n == 1 && w == 0 {
			b = &dyingBackend{Backend: b, at: int64(r.kill), die: func() { cancel(); close(died) }}
		}
		db := r.open()
		acct, err := NewAccounting(r.b, db, r.clock, AccountingConfig{Policy: policy, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{CPUSlice: 1000 * time.Hour, OneShot: true, PrefixesInFlight: 4, Logger: quiet}
		var clock Clock = r.clock
		if r.workers > 0 {
			cfg.Shared = &Sharing{DB: db, Worker: fmt.Sprintf("w%d", w), Store: "disk:fixture", ClaimLease: sharedLease}
			clock = r.clock.Yielding()
		}
		var hooks Hooks
		if zombie && w == 0 {
			b = &stallingBackend{Backend: b, p: sharedSI(0).Prefix(), listed: listed, release: redone}
		}
		if zombie && w == 1 {
			var once sync.Once
			hooks.AfterPrefix = func(_ int, p sharestore.Prefix) {
				if p == sharedSI(0).Prefix() {
					once.Do(func() { close(redone) })
				}
			}
		}
		if b != r.b {
			if acct, err = NewAccounting(b, db, r.clock, AccountingConfig{Policy: policy, Logger: quiet}); err != nil {
				t.Fatal(err)
			}
		}
		e, err := New(acct, filepath.Join(t.TempDir(), "state.json"), clock, cfg, hooks)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if zombie && w == 1 {
				<-listed
				r.clock.Advance(sharedLease + time.Second)
			}
			errs[w] = e.Run(ctx)
		}()
	}
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	if r.kill > 0 && n == 1 {
		select {
		case <-died:
			// The dead worker's claims run out; the others take them.
			r.clock.Advance(sharedLease + time.Second)
		case <-all:
			t.Fatalf("worker 0 finished before its listing %d", r.kill)
		}
	}
	<-all
	for w, err := range errs {
		if r.kill > 0 && n == 1 && w == 0 {
			if !errors.Is(err, sharestore.ErrCanceled) {
				t.Errorf("the killed worker returned %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cycle %d, worker %d: %v", n, w, err)
		}
	}
}

// dyingBackend ends its worker's context at its at-th listing, as if the
// process died there.
type dyingBackend struct {
	sharestore.Backend
	n, at int64
	die   func()
}

func (d *dyingBackend) Unwrap() sharestore.Backend { return d.Backend }

func (d *dyingBackend) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	if atomic.AddInt64(&d.n, 1) == d.at {
		d.die()
		return sharestore.CtxErr(ctx)
	}
	return d.Backend.ListPrefix(ctx, p, fn)
}

// stallingBackend waits for release when it is first asked for headers
// of p's shares, after the worker listed p and found no result of it: a
// worker paused (by a slow store, a stopped process) past its claims'
// deadline, between its listing and its transaction.
type stallingBackend struct {
	sharestore.Backend
	p               sharestore.Prefix
	once            sync.Once
	listed, release chan struct{}
}

func (s *stallingBackend) Unwrap() sharestore.Backend { return s.Backend }

func (s *stallingBackend) ReadHeaders(ctx context.Context, ids []sharestore.ShareID, fn func(sharestore.ShareID, sharestore.Share, error)) error {
	if len(ids) > 0 && ids[0].SI.Prefix() == s.p {
		stalled := false
		s.once.Do(func() {
			stalled = true
			close(s.listed)
		})
		if stalled {
			<-s.release
		}
	}
	return sharestore.ReadHeaders(ctx, s.Backend, ids, 1, fn)
}

// timeless removes the cycle times from a dump's history, for runs
// whose clocks moved differently.
func timeless(t *testing.T, d *leasedb.Dump) *leasedb.Dump {
	t.Helper()
	out := *d
	out.History = nil
	for _, h := range d.History {
		var m map[string]any
		if err := json.Unmarshal(h.Entry, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "cycle-start-finish-times")
		js, _ := json.Marshal(m)
		out.History = append(out.History, leasedb.DumpHistory{Cycle: h.Cycle, Entry: js})
	}
	return &out
}

func reference(t *testing.T) (*leasedb.Dump, []sharestore.ShareID) {
	dir := t.TempDir()
	return sharedRun{t: t, b: sharedFixture(t), clock: NewFakeClock(t0.Add(-30 * 24 * time.Hour)), open: opener(t, "sqlite:"+filepath.Join(dir, "leasedb.sqlite"))}.run()
}

func opener(t *testing.T, u string) func() *leasedb.DB {
	return func() *leasedb.DB {
		db, err := leasedb.OpenURL(context.Background(), u, leasedb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// Three workers that share the cycles on PostgreSQL reach exactly what
// one engine reaches on SQLite: the same lease database, history
// included, and the same shares deleted.
func TestSharedWorkersMatchOne(t *testing.T) {
	u := emulators.GetPostgres(t).NewDatabase(t)
	wantDump, wantLeft := reference(t)
	if len(wantLeft) == sharedShares || len(wantLeft) == 0 {
		t.Fatalf("the reference run left %d of %d shares: the scenario deletes nothing", len(wantLeft), sharedShares)
	}
	gotDump, gotLeft := sharedRun{t: t, b: sharedFixture(t), clock: NewFakeClock(t0.Add(-30 * 24 * time.Hour)), open: opener(t, u), workers: 3}.run()
	if !reflect.DeepEqual(gotDump, wantDump) {
		t.Errorf("dump with 3 workers differs from one engine's:\n got %s\nwant %s", dumpJSON(gotDump), dumpJSON(wantDump))
	}
	if !reflect.DeepEqual(gotLeft, wantLeft) {
		t.Errorf("3 workers left %d shares, one engine %d", len(gotLeft), len(wantLeft))
	}
	checkSplit(t, u)
}

// checkSplit checks that every worker did some of the last cycle's
// prefixes: the workers split it, rather than one doing it all.
func checkSplit(t *testing.T, u string) {
	t.Helper()
	ctx := context.Background()
	db := opener(t, u)()
	rec, ok, err := db.SharedCycle(ctx, AccountingName)
	if err != nil || !ok || rec.State != leasedb.CycleFinished || rec.Number != 1 {
		t.Fatalf("shared cycle record = %+v, %v, %v", rec, ok, err)
	}
	claims, err := db.Claims(ctx, AccountingName, rec.ID)
	if err != nil || len(claims) != sharestore.NumPrefixes {
		t.Fatalf("Claims = %d, %v", len(claims), err)
	}
	for _, c := range claims {
		if !c.Done || c.Holder != "" {
			t.Fatalf("claim after the cycle = %+v", c)
		}
	}
}

// A worker that dies in the middle of the cycle with expiry on leaves
// its claims; once they run out the other two redo its prefixes, and the
// cycle ends as an undisturbed one does: the same lease database (times
// aside), the same shares left. Each death point is a separate run.
func TestSharedWorkerDeath(t *testing.T) {
	pg := emulators.GetPostgres(t)
	wantDump, wantLeft := reference(t)
	for _, kill := range []int{1, 37, 150, 250} {
		t.Run(fmt.Sprintf("at-listing-%d", kill), func(t *testing.T) {
			u := pg.NewDatabase(t)
			gotDump, gotLeft := sharedRun{t: t, b: sharedFixture(t), clock: NewFakeClock(t0.Add(-30 * 24 * time.Hour)), open: opener(t, u), workers: 3, kill: kill}.run()
			if got, want := timeless(t, gotDump), timeless(t, wantDump); !reflect.DeepEqual(got, want) {
				t.Errorf("dump after a death differs from an undisturbed run's:\n got %s\nwant %s", dumpJSON(got), dumpJSON(want))
			}
			if !reflect.DeepEqual(gotLeft, wantLeft) {
				t.Errorf("after a death %d shares are left, undisturbed %d", len(gotLeft), len(wantLeft))
			}
		})
	}
}

func dumpJSON(d *leasedb.Dump) string {
	b, _ := json.Marshal(d)
	s := string(b)
	if len(s) > 4000 {
		s = s[:4000] + "…"
	}
	return s
}

// A worker that stalls past its claims' deadline, while another redoes
// its prefix (deleting its garbage), commits nothing of its stale work
// when it wakes: the cycle ends as an undisturbed one does. Without the
// claim check in the accounting crawler's transactions, the stale
// listing brings the deleted shares back into the lease database.
func TestSharedStalledWorker(t *testing.T) {
	u := emulators.GetPostgres(t).NewDatabase(t)
	dir := t.TempDir()
	wantDump, wantLeft := sharedRun{t: t, b: sharedFixture(t), clock: NewFakeClock(t0.Add(-30 * 24 * time.Hour)),
		open: opener(t, "sqlite:"+filepath.Join(dir, "leasedb.sqlite")), advance: sharedLease + time.Second, newShares: true}.run()
	gotDump, gotLeft := sharedRun{t: t, b: sharedFixture(t), clock: NewFakeClock(t0.Add(-30 * 24 * time.Hour)), open: opener(t, u), workers: 2, zombie: true, newShares: true}.run()
	if got, want := timeless(t, gotDump), timeless(t, wantDump); !reflect.DeepEqual(got, want) {
		t.Errorf("dump after a stalled worker differs from an undisturbed run's:\n got %s\nwant %s", dumpJSON(got), dumpJSON(want))
	}
	if !reflect.DeepEqual(gotLeft, wantLeft) {
		t.Errorf("after a stalled worker %d shares are left, undisturbed %d", len(gotLeft), len(wantLeft))
	}
}
