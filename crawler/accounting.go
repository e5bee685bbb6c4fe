package crawler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/units"
	"github.com/sharestore/sharestore/leasedb"
)

// AccountingName is the accounting crawler's name.
const AccountingName = "accounting"

// DefaultComingGrace is how long a COMING row may stay COMING before the
// accounting crawler cleans it up.
const DefaultComingGrace = 7 * 24 * time.Hour

// DefaultMaxCorrupt caps the corrupt shares listed in a cycle's report;
// all of them are still counted.
const DefaultMaxCorrupt = 100

// AccountingConfig configures the accounting crawler.
type AccountingConfig struct {
	// Policy says which leases expire. The zero policy removes none.
	Policy leasedb.ExpirationPolicy
	// DryRun reports what would be deleted and deletes nothing: no share
	// is removed from the backend, no lease is expired and no row goes
	// GOING. New shares are still recorded.
	DryRun bool
	// ComingGrace is how old a COMING row must be before it is cleaned up
	// [DefaultComingGrace].
	ComingGrace time.Duration
	// RetainedHistory is how many cycles of history to keep
	// [leasedb.DefaultRetainedHistory].
	RetainedHistory int
	// MaxCorrupt caps the corrupt shares listed per cycle
	// [DefaultMaxCorrupt].
	MaxCorrupt int
	// Logger receives warnings [slog.Default()].
	Logger *slog.Logger
	// Prefetch lists up to PrefetchAhead prefixes ahead of the one
	// being reconciled (see sharestore.Scan), hiding the backend's
	// latency (a plugin's round trip, a bucket's LIST). A prefetched
	// listing older than PrefetchMaxAge is made again. It is meant for
	// one prefix in flight; with more, prefixes asked for out of order
	// are listed directly.
	// When most shares of a prefix are new to the
	// database (a first cycle), Prefetch also reads the headers of the
	// next prefix's shares while this prefix's transaction runs; at
	// worst that reads one prefix's headers for nothing.
	Prefetch bool
	// Limits bound what one cycle may delete [no bound].
	Limits DeleteLimits
	// MayDelete, if set, is asked at the start of every cycle (and when
	// a process resumes one) whether this crawler may delete: a non-nil
	// error, such as "the store is owned by another lease database",
	// makes the cycle behave like a dry run for leases and deletions
	// (new shares are still recorded), with the error's text as the
	// reason (HeldReason).
	MayDelete func(ctx context.Context) error
}

// PrefetchAhead is how many prefixes Prefetch lists ahead.
const PrefetchAhead = 32

// PrefetchMaxAge bounds how old a prefetched listing may be when it is
// used, in wall time, so a pause between slices never makes the crawler
// act on a stale listing. A share missing from a listing is confirmed
// gone with a direct read before its row is removed, so even a stale
// listing never costs a lease.
const PrefetchMaxAge = 2 * time.Second

// Accounting is the accounting crawler: it reconciles the lease database
// with what the backend stores, prefix by prefix, and collects garbage.
//
// For each prefix it lists the backend (ListPrefix: no share is read
// unless it is new to the database or its size changed), then in one
// transaction it records new shares as STABLE with a starter lease,
// removes STABLE rows whose share vanished, settles stale COMING rows,
// computes the prefix's counters and lease-age histogram, and marks the
// unleased STABLE shares GOING. It then deletes each GOING share, with the
// lease re-checked under the storage index's lock just before the delete,
// and in a second transaction removes the deleted rows (a failed delete
// goes back to STABLE and is retried next cycle) and commits the prefix's
// result. A crash at any point leaves a state that the next run completes
// exactly, so counts match an undisturbed run. Corrupt shares are counted
// and listed, never deleted.
type Accounting struct {
	b     sharestore.Backend
	db    *leasedb.DB
	clock Clock
	cfg   AccountingConfig

	mu         sync.Mutex
	cycleStart time.Time
	// occupied holds the prefixes that had rows at the start of the
	// cycle; a prefix with no rows and nothing listed needs no
	// transaction at all.
	occupied map[sharestore.Prefix]bool
	lister   *lister
	// ahead reads the headers of the next prefix's shares while this
	// prefix's transaction runs (with Prefetch, in a first cycle).
	ahead *headersAhead
	// aheadUsed counts the prefixes whose reconcile used headers read
	// ahead (for tests).
	aheadUsed int
	// memoHits counts the prefixes settled from their memo (for tests);
	// noMemo turns the memos off, so tests can compare with full
	// reconciles.
	memoHits int
	noMemo   bool
	// settled holds the results of prefixes settled from memos that
	// are not committed yet (see begin).
	settled []leasedb.PrefixResultRow
	// held is why the cycle heldCycle may not delete, or "".
	held, heldCycle string
	// lastCycleID is the ID of the last cycle this crawler finished.
	lastCycleID string
}

// headersAhead is a header read for a prefix not yet reconciled. Its
// types are a cache: reconcile reads any share they lack itself.
type headersAhead struct {
	p      sharestore.Prefix
	at     time.Time // wall time the listing was taken
	cancel context.CancelFunc
	done   chan struct{}
	types  map[sharestore.ShareID]sharestore.ShareType // nil if the read failed
}

// NewAccounting returns the accounting crawler over b and db.
func NewAccounting(b sharestore.Backend, db *leasedb.DB, clock Clock, cfg AccountingConfig) (*Accounting, error) {
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	if cfg.ComingGrace <= 0 {
		cfg.ComingGrace = DefaultComingGrace
	}
	if cfg.RetainedHistory <= 0 {
		cfg.RetainedHistory = leasedb.DefaultRetainedHistory
	}
	if cfg.MaxCorrupt <= 0 {
		cfg.MaxCorrupt = DefaultMaxCorrupt
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &Accounting{b: b, db: db, clock: clock, cfg: cfg}
	if cfg.Prefetch {
		a.lister = &lister{b: b, opts: sharestore.ScanOptions{Ahead: PrefetchAhead, MaxAge: PrefetchMaxAge}}
	}
	return a, nil
}

// Name implements Crawler.
func (a *Accounting) Name() string { return AccountingName }

// PrefixResult is the accounting result of one prefix, stored in the
// lease database with the prefix's work.
type PrefixResult struct {
	// Done is false between the two transactions of a prefix.
	Done bool `json:"done"`
	// Counters are the space-recovered counters (see Counter names).
	Counters map[string]int64 `json:"counters"`
	// Histogram counts leases by age in whole days.
	Histogram map[int]int64 `json:"histogram,omitempty"`
	// Corrupt lists the corrupt shares found.
	Corrupt []CorruptShare `json:"corrupt,omitempty"`
	// Pending lists the shares marked GOING, with their sizes, until the
	// second transaction settles them.
	Pending []pendingDelete `json:"pending,omitempty"`
	// Deletions explains every share judged to be garbage whose outcome
	// is settled (see Accounting.Deletions).
	Deletions []Deletion `json:"deletions,omitempty"`
}

// CorruptShare names one corrupt share.
type CorruptShare struct {
	SI    string `json:"si"`
	Shnum int    `json:"shnum"`
}

// pendingDelete is a share judged garbage, with what the listing showed
// of it when it was judged: the delete guard deletes it only if it is
// still that share (ShareInfo.SameShare). A share that was not listed
// (a GOING row whose share had vanished) has a zero ModTime, so if it
// reappears it is never taken for the judged one.
type pendingDelete struct {
	SI        sharestore.StorageIndex `json:"si"`
	Shnum     int                     `json:"shnum"`
	Type      sharestore.ShareType    `json:"type"`
	Size      int64                   `json:"size"`
	UsedSpace int64                   `json:"used_space"`
	ModTime   time.Time               `json:"mod_time"`
	Version   string                  `json:"version,omitempty"`
	// Why explains the delete; settle fills in its outcome.
	Why Deletion `json:"why"`
}

// judged returns the listing information the share was judged by.
func (d pendingDelete) judged() sharestore.ShareInfo {
	return sharestore.ShareInfo{SI: d.SI, Shnum: d.Shnum, Size: d.Size, UsedSpace: d.UsedSpace, ModTime: d.ModTime, Version: d.Version}
}

// The counters are named like Tahoe's space-recovered keys:
// "<kind>-<unit>" plus "-<type>" variants, where kind is examined (shares
// found), actual (deleted) or configured (what the policy would delete,
// so dry-run shows it), unit is shares, buckets (sharesets), sharebytes
// (container bytes) or diskbytes (used space), and type is immutable,
// mutable or corrupt. Also: added (new shares recorded), vanished (rows
// removed because their share disappeared), coming-settled (stale COMING
// rows settled), delete-failed, lease-rescued (a lease appeared just
// before the delete), delete-changed (the share was rewritten between
// its judgement and its delete, so it was kept) and delete-deferred (left
// for a later cycle by the cycle's bound, DeleteLimits).
var counterKinds = []string{"examined", "actual", "configured"}
var counterUnits = []string{"shares", "buckets", "sharebytes", "diskbytes"}
var counterTypes = []string{"", "-immutable", "-mutable", "-corrupt"}

func newCounters() map[string]int64 {
	m := map[string]int64{}
	for _, k := range counterKinds {
		for _, u := range counterUnits {
			for _, t := range counterTypes {
				m[k+"-"+u+t] = 0
			}
		}
	}
	for _, k := range []string{"added", "vanished", "coming-settled", "delete-failed", "lease-rescued", "delete-deferred"} {
		m[k] = 0
	}
	return m
}

func typeSuffix(t sharestore.ShareType) string {
	switch t {
	case sharestore.ShareTypeImmutable:
		return "-immutable"
	case sharestore.ShareTypeMutable:
		return "-mutable"
	case sharestore.ShareTypeCorrupt:
		return "-corrupt"
	}
	return ""
}

// tally adds one share to kind's counters; buckets are counted separately.
func tally(c map[string]int64, kind string, t sharestore.ShareType, size, used int64) {
	for _, suf := range suffixes(t) {
		c[kind+"-shares"+suf]++
		c[kind+"-sharebytes"+suf] += size
		c[kind+"-diskbytes"+suf] += used
	}
}

// suffixes returns the counter suffixes a share of type t adds to: the
// total, and its type's.
func suffixes(t sharestore.ShareType) []string {
	if s := typeSuffix(t); s != "" {
		return []string{"", s}
	}
	return []string{""}
}

// buckets counts distinct storage indexes per type into kind's counters.
type bucketSet map[string]map[sharestore.StorageIndex]bool

func (s bucketSet) add(t sharestore.ShareType, si sharestore.StorageIndex) {
	for _, suf := range suffixes(t) {
		if s[suf] == nil {
			s[suf] = map[sharestore.StorageIndex]bool{}
		}
		s[suf][si] = true
	}
}

func (s bucketSet) into(c map[string]int64, kind string) {
	for suf, m := range s {
		c[kind+"-buckets"+suf] += int64(len(m))
	}
}

// StartedCycle forgets the previous cycle's prefix results and plans the
// cycle's deletions: it forecasts, before any lease expires, how many
// shares the policy would make collectable, and decides whether the
// cycle may delete (MayDelete, DeleteLimits.HoldAbovePercent). Leases
// expire prefix by prefix, in the transaction that judges their shares.
func (a *Accounting) StartedCycle(ctx context.Context, cycle Cycle) error {
	if err := a.flushSettled(ctx); err != nil {
		return err
	}
	a.mu.Lock()
	a.cycleStart = cycle.Start
	a.mu.Unlock()
	var plan *deletionPlan
	err := a.db.Update(ctx, func(tx *leasedb.Tx) error {
		if err := tx.ClearPrefixResults(ctx, AccountingName, cycle.ID); err != nil {
			return err
		}
		occupied, err := tx.PrefixesWithShares(ctx)
		if err != nil {
			return err
		}
		a.mu.Lock()
		a.occupied = occupied
		a.mu.Unlock()
		plan, err = a.startPlan(ctx, tx, cycle)
		return err
	})
	if err != nil {
		return err
	}
	a.decideHold(ctx, cycle, plan)
	return nil
}

// ensureHold decides, once per cycle and process, whether the cycle may
// delete; StartedCycle does it for a new cycle, this for a resumed one.
func (a *Accounting) ensureHold(ctx context.Context, cycle Cycle) error {
	a.mu.Lock()
	done := a.heldCycle == cycle.ID
	a.mu.Unlock()
	if done {
		return nil
	}
	var plan *deletionPlan
	err := a.db.Update(ctx, func(tx *leasedb.Tx) error {
		var err error
		plan, err = a.planFor(ctx, tx, cycle)
		return err
	})
	if err != nil {
		return err
	}
	a.decideHold(ctx, cycle, plan)
	return nil
}

// ProcessPrefix reconciles one prefix. Its result lives in the lease
// database; it returns nil for the engine's state.
func (a *Accounting) ProcessPrefix(ctx context.Context, cycle Cycle, p sharestore.Prefix) (json.RawMessage, error) {
	// Fast path: nothing stored and no rows (as of the cycle start, or
	// ever, after a restart) means nothing to record or count.
	stored, err := a.list(ctx, p)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	occupied, known := a.occupied[p], a.occupied != nil
	a.mu.Unlock()
	if len(stored) == 0 && known && !occupied {
		return nil, nil
	}
	if err := a.ensureHold(ctx, cycle); err != nil {
		return nil, err
	}
	prior, settled, err := a.begin(ctx, cycle, p, stored)
	if err != nil || settled {
		return nil, err
	}
	if prior != nil && prior.Done {
		return nil, nil // committed before a restart: never redo or recount
	}
	res := prior
	if res == nil {
		if res, err = a.reconcile(ctx, cycle, p, stored); err != nil {
			return nil, err
		}
	}
	return nil, a.settle(ctx, cycle, p, res)
}

// list returns the listing of p: from the open scan with Prefetch, from
// one ListPrefix call otherwise.
func (a *Accounting) list(ctx context.Context, p sharestore.Prefix) ([]sharestore.ShareInfo, error) {
	if a.lister != nil {
		l, err := a.lister.get(ctx, p)
		return l.Shares, err
	}
	l, err := sharestore.ListOne(ctx, a.b, p, false)
	return l.Shares, err
}

// reconcile is the first transaction of a prefix.
func (a *Accounting) reconcile(ctx context.Context, cycle Cycle, p sharestore.Prefix, listing []sharestore.ShareInfo) (*PrefixResult, error) {
	stored := make(map[sharestore.ShareID]sharestore.ShareInfo, len(listing))
	order := make([]sharestore.ShareID, 0, len(listing))
	for _, info := range listing {
		stored[info.ID()] = info
		order = append(order, info.ID())
	}
	now := a.clock.Now()
	// Shares new to the database (or whose size changed) need their
	// headers read: a file open on disk, a ranged GET in a bucket, an RPC
	// to a plugin. When there are several, the first attempt gives up the
	// transaction, the headers are read several at a time outside it, and
	// the second attempt uses them; a steady prefix needs one attempt.
	// With Prefetch, headers read ahead while the previous prefix was
	// reconciled are the first of these.
	types := a.takeAhead(p)
	if types != nil {
		a.mu.Lock()
		a.aheadUsed++
		a.mu.Unlock()
	}
	var todo []sharestore.ShareID
	firstAttempt := true
	res := &PrefixResult{Counters: newCounters(), Histogram: map[int]int64{}}
	reconcile := func(tx *leasedb.Tx) error {
		if err := CheckClaim(ctx, tx, p); err != nil {
			return err
		}
		res.Counters, res.Histogram, res.Corrupt, res.Pending, res.Deletions = newCounters(), map[int]int64{}, nil, nil, nil
		rows, err := tx.SharesForPrefix(ctx, p)
		if err != nil {
			return err
		}
		if firstAttempt {
			firstAttempt = false
			need := needHeaders(listing, rows)
			if len(need) > 1 && 2*len(need) >= len(listing) {
				// Mostly new shares: the next prefix is likely the same.
				a.startAhead(ctx, p)
			}
			todo = todo[:0]
			for _, id := range need {
				if _, ok := types[id]; !ok {
					todo = append(todo, id)
				}
			}
			if len(todo) > 1 {
				return errReadHeaders
			}
		}
		known := make(map[sharestore.ShareID]leasedb.Share, len(rows))
		for _, r := range rows {
			known[sharestore.ShareID{SI: r.SI, Shnum: r.Shnum}] = r
		}
		stale := map[sharestore.ShareID]bool{}
		for _, r := range rows {
			if r.State != leasedb.StateComing {
				continue
			}
			// Only a prefix with COMING rows needs this query.
			staleRows, err := tx.StaleComingForPrefix(ctx, p, now.Add(-a.cfg.ComingGrace))
			if err != nil {
				return err
			}
			for _, r := range staleRows {
				stale[sharestore.ShareID{SI: r.SI, Shnum: r.Shnum}] = true
			}
			break
		}
		// Vanished rows: STABLE rows are removed; GOING rows are settled
		// below (their delete may have happened before a crash); stale
		// COMING rows are cleaned up; fresh COMING rows are left alone.
		for id, r := range known {
			if _, ok := stored[id]; ok {
				continue
			}
			switch {
			case r.State == leasedb.StateStable:
				gone, err := a.gone(ctx, id)
				if err != nil {
					return err
				}
				if !gone {
					// Stored after the listing was made: the next
					// cycle sees it. Its row and leases stay.
					continue
				}
				a.cfg.Logger.Warn("share unexpectedly disappeared", "si", id.SI.String(), "shnum", id.Shnum)
				if err := tx.RemoveDeletedShare(ctx, id.SI, id.Shnum); err != nil {
					return err
				}
				delete(known, id)
				res.Counters["vanished"]++
			case r.State == leasedb.StateComing && stale[id]:
				if err := tx.RemoveDeletedShare(ctx, id.SI, id.Shnum); err != nil {
					return err
				}
				delete(known, id)
				res.Counters["coming-settled"]++
			}
		}
		examined := bucketSet{}
		var discovered []leasedb.Share
		for _, id := range order {
			info := stored[id]
			r, ok := known[id]
			typ := r.Type
			switch {
			case !ok:
				// New to the database: its header was read once above.
				t, done := types[id]
				if !done {
					var err error
					if t, err = a.classify(ctx, id); err != nil {
						return err
					}
				}
				typ = t
				if typ == sharestore.ShareTypeUnknown {
					continue // vanished or unreadable since the listing
				}
				d := leasedb.Share{SI: id.SI, Shnum: id.Shnum, UsedSpace: info.UsedSpace, Type: typ, State: leasedb.StateStable}
				discovered = append(discovered, d)
				known[id] = d
				res.Counters["added"]++
			case r.UsedSpace != info.UsedSpace && r.State != leasedb.StateComing:
				// Its size changed: classify it again.
				t, done := types[id]
				if !done {
					var err error
					if t, err = a.classify(ctx, id); err != nil {
						return err
					}
				}
				if t != sharestore.ShareTypeUnknown {
					typ = t
				}
				if err := tx.ChangeShareSpace(ctx, id.SI, id.Shnum, info.UsedSpace); err != nil {
					return err
				}
				r.UsedSpace = info.UsedSpace
				known[id] = r
			}
			if ok && r.State == leasedb.StateComing && stale[id] {
				// Complete (it is listed) but never marked stable.
				if err := tx.MarkStable(ctx, id.SI, id.Shnum, info.UsedSpace); err != nil {
					return err
				}
				r.State, r.UsedSpace = leasedb.StateStable, info.UsedSpace
				known[id] = r
				res.Counters["coming-settled"]++
			}
			tally(res.Counters, "examined", typ, info.Size, info.UsedSpace)
			examined.add(typ, id.SI)
			if typ == sharestore.ShareTypeCorrupt {
				res.Corrupt = append(res.Corrupt, CorruptShare{SI: id.SI.String(), Shnum: id.Shnum})
			}
		}
		examined.into(res.Counters, "examined")
		// New shares become STABLE with a starter lease, in one bulk
		// insert per prefix.
		if err := tx.AddDiscoveredShares(ctx, discovered, now); err != nil {
			return err
		}
		// Garbage: unleased STABLE shares, never corrupt ones, plus GOING
		// rows left by an interrupted run. known now mirrors the table.
		rows = rows[:0]
		for _, r := range known {
			rows = append(rows, r)
		}
		plan, err := a.planFor(ctx, tx, cycle)
		if err != nil {
			return err
		}
		kept, err := a.judge(ctx, tx, cycle, p, stored, rows, res, plan, now)
		if err != nil {
			return err
		}
		res.Done = len(res.Pending) == 0
		if m := a.memoOf(cycle, listing, known, kept, res); m != nil {
			js, err := json.Marshal(m)
			if err != nil {
				return err
			}
			if err := tx.PutPrefixMemo(ctx, AccountingName, p, js); err != nil {
				return err
			}
		}
		js, err := json.Marshal(res)
		if err != nil {
			return err
		}
		return tx.PutPrefixResult(ctx, AccountingName, cycle.ID, p, js)
	}
	err := a.db.Update(ctx, reconcile)
	if errors.Is(err, errReadHeaders) {
		var read map[sharestore.ShareID]sharestore.ShareType
		if read, err = a.classifyAll(ctx, todo); err == nil {
			if types == nil {
				types = read
			} else {
				maps.Copy(types, read)
			}
			err = a.db.Update(ctx, reconcile)
		}
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// startAhead starts reading, in the background, the headers of every
// share of the prefix after p, from the listing the open scan returns
// next (see lister.reserve). It does nothing without Prefetch, after the
// last prefix, or while an earlier read ahead is still held. It never
// blocks: reconcile calls it inside a write transaction, so waiting for
// the listing is left to the background goroutine.
func (a *Accounting) startAhead(ctx context.Context, p sharestore.Prefix) {
	i := p.Index() + 1
	if a.lister == nil || i >= sharestore.NumPrefixes {
		return
	}
	a.mu.Lock()
	next := sharestore.PrefixAt(i)
	if a.ahead != nil || !a.lister.reserve(next) {
		a.mu.Unlock()
		return
	}
	actx, cancel := context.WithCancel(ctx)
	ah := &headersAhead{p: next, cancel: cancel, done: make(chan struct{})}
	a.ahead = ah
	a.mu.Unlock()
	go func() {
		defer close(ah.done)
		listing, ok := a.lister.fill()
		if !ok || len(listing.Shares) == 0 {
			return
		}
		ah.at = time.Now()
		ids := make([]sharestore.ShareID, len(listing.Shares))
		for j, info := range listing.Shares {
			ids[j] = info.ID()
		}
		if types, err := a.classifyAll(actx, ids); err == nil {
			ah.types = types
		}
	}()
	// Let the read start (the listing taken, the request out to a
	// plugin, the first files opened) before this goroutine goes back to
	// SQL, even on one processor.
	runtime.Gosched()
}

// takeAhead returns the header types read ahead for p, or nil if there
// are none, or they are older than PrefetchMaxAge. A read ahead for
// another prefix is stopped and dropped.
func (a *Accounting) takeAhead(p sharestore.Prefix) map[sharestore.ShareID]sharestore.ShareType {
	a.mu.Lock()
	ah := a.ahead
	a.ahead = nil
	a.mu.Unlock()
	if ah == nil {
		return nil
	}
	if ah.p != p {
		ah.cancel()
	}
	<-ah.done
	ah.cancel()
	if ah.p != p || time.Since(ah.at) > PrefetchMaxAge {
		return nil
	}
	return ah.types
}

// errReadHeaders aborts a first reconcile attempt that needs headers.
var errReadHeaders = errors.New("accounting: headers needed")

// needHeaders returns the listed shares that rows do not know, or whose
// used space changed.
func needHeaders(listing []sharestore.ShareInfo, rows []leasedb.Share) []sharestore.ShareID {
	known := make(map[sharestore.ShareID]leasedb.Share, len(rows))
	for _, r := range rows {
		known[sharestore.ShareID{SI: r.SI, Shnum: r.Shnum}] = r
	}
	var todo []sharestore.ShareID
	for _, info := range listing {
		r, ok := known[info.ID()]
		if !ok || (r.UsedSpace != info.UsedSpace && r.State != leasedb.StateComing) {
			todo = append(todo, info.ID())
		}
	}
	return todo
}

// classifyAll reads the headers of ids: in one batch from a backend
// that reads batches (a plugin), several at a time otherwise. A
// transient failure is returned, so the prefix is done again.
func (a *Accounting) classifyAll(ctx context.Context, ids []sharestore.ShareID) (map[sharestore.ShareID]sharestore.ShareType, error) {
	out := make(map[sharestore.ShareID]sharestore.ShareType, len(ids))
	var failed error
	err := sharestore.ReadHeaders(ctx, a.b, ids, sharestore.DefaultHeaderWorkers, func(id sharestore.ShareID, sh sharestore.Share, err error) {
		t, err := a.typeOf(id, sh, err)
		if err != nil && failed == nil {
			failed = err
		}
		out[id] = t
	})
	if err == nil {
		err = failed
	}
	if err != nil && transient(err) {
		return nil, err
	}
	if err != nil {
		// What was not read is read one by one in the transaction.
		a.cfg.Logger.Warn("cannot read share headers in a batch", "err", err)
	}
	return out, nil
}

// classify reads one share's header. It returns ShareTypeUnknown if the
// share is gone or cannot be read (it is then looked at again next
// cycle), ShareTypeCorrupt if its container is not valid, and the error
// of a transient failure, which makes the prefix be done again.
//
// It reads through sharestore.ReadHeaders, as a batch of one, so that a
// backend's header fast path serves it too: the cloud layer reads a share
// it has just listed with one ranged GET, where Share would list it again.
func (a *Accounting) classify(ctx context.Context, id sharestore.ShareID) (sharestore.ShareType, error) {
	var sh sharestore.Share
	err := errors.New("accounting: header not read")
	if rerr := sharestore.ReadHeaders(ctx, a.b, []sharestore.ShareID{id}, 1, func(_ sharestore.ShareID, s sharestore.Share, e error) {
		sh, err = s, e
	}); rerr != nil {
		err = rerr
	}
	return a.typeOf(id, sh, err)
}

// transient reports whether err may go away by itself (the store or
// plugin unavailable, throttling, cancellation): the prefix is then done
// again rather than recorded without the share.
func transient(err error) bool {
	return errors.Is(err, sharestore.ErrUnavailable) || errors.Is(err, sharestore.ErrThrottled) ||
		errors.Is(err, sharestore.ErrCanceled) || errors.Is(err, sharestore.ErrDeadlineExceeded)
}

// gone confirms with a direct read that a share missing from a listing
// is not stored: a listing can be older than a share that arrived since
// (a prefetched one by up to PrefetchMaxAge), and removing that share's
// row would lose its leases. Only ErrNotFound counts as gone. A
// transient failure (the store or plugin unavailable, throttling,
// cancellation) is returned, so the prefix is done again once the store
// answers; any other failure keeps the row until a later cycle can tell.
func (a *Accounting) gone(ctx context.Context, id sharestore.ShareID) (bool, error) {
	_, err := a.b.Shareset(id.SI).Share(ctx, id.Shnum)
	switch {
	case err == nil, errors.Is(err, sharestore.ErrCorrupt):
		return false, nil
	case errors.Is(err, sharestore.ErrNotFound):
		return true, nil
	case transient(err):
		return false, err
	}
	a.cfg.Logger.Warn("cannot confirm a share is gone; keeping its row", "si", id.SI.String(), "shnum", id.Shnum, "err", err)
	return false, nil
}

// typeOf is classify's verdict on a header read's result.
func (a *Accounting) typeOf(id sharestore.ShareID, sh sharestore.Share, err error) (sharestore.ShareType, error) {
	switch {
	case err == nil:
		return sh.Type, nil
	case errors.Is(err, sharestore.ErrCorrupt):
		return sharestore.ShareTypeCorrupt, nil
	case errors.Is(err, sharestore.ErrNotFound):
		return sharestore.ShareTypeUnknown, nil
	case transient(err):
		return sharestore.ShareTypeUnknown, err
	}
	a.cfg.Logger.Warn("cannot read share header; will retry next cycle", "si", id.SI.String(), "shnum", id.Shnum, "err", err)
	return sharestore.ShareTypeUnknown, nil
}

// errLeased is what the delete guard returns when a lease appeared.
var errLeased = errors.New("share has a lease")

// errChanged is what the delete guard returns when the share is no
// longer the one that was judged: it was rewritten since the listing.
var errChanged = sharestore.Errorf(sharestore.ErrConflict, "share changed since it was judged")

// The outcomes of one pending delete.
type deleteOutcome int

const (
	deleteFailed  deleteOutcome = iota // the share stays; retried next cycle
	deleteDone                         // deleted (or already gone)
	deleteRescued                      // a lease appeared: the share stays
	deleteChanged                      // rewritten since judged: the share stays
)

// deleteGuard is the guard of one pending delete, run under the storage
// index's lock just before the delete: the share must still be the one
// that was judged (same size and modification time, and the same version
// where the backend gives one), and it must still have no lease.
func (a *Accounting) deleteGuard(d pendingDelete) sharestore.Guard {
	judged := d.judged()
	return func(ctx context.Context, cur sharestore.ShareInfo) error {
		if !judged.SameShare(cur) {
			return errChanged
		}
		var n int
		err := a.db.View(ctx, func(tx *leasedb.Tx) error {
			var err error
			n, err = tx.LeaseCount(ctx, d.SI, d.Shnum)
			return err
		})
		if err != nil {
			return err
		}
		if n > 0 {
			return errLeased
		}
		return nil
	}
}

// settle deletes the prefix's GOING shares and commits the final result.
func (a *Accounting) settle(ctx context.Context, cycle Cycle, p sharestore.Prefix, res *PrefixResult) error {
	if res.Done {
		return nil
	}
	type outcome struct {
		d    pendingDelete
		kind deleteOutcome
	}
	var outs []outcome
	for _, d := range res.Pending {
		if err := sharestore.CtxErr(ctx); err != nil {
			return err
		}
		err := a.b.Shareset(d.SI).DeleteShare(ctx, d.Shnum, a.deleteGuard(d))
		switch {
		case err == nil:
			a.cfg.Logger.Info("deleted share", "si", d.SI.String(), "shnum", d.Shnum, "type", d.Type.String(), "size", d.Size, "reason", d.Why.Why())
			outs = append(outs, outcome{d, deleteDone})
		case errors.Is(err, sharestore.ErrNotFound) && inSharedCycle(ctx):
			// Another worker of the shared cycle, whose claim of the
			// prefix then ran out, deleted it: its settlement did not
			// commit, so this one records the delete.
			a.cfg.Logger.Info("share already deleted by another worker of the cycle", "si", d.SI.String(), "shnum", d.Shnum)
			outs = append(outs, outcome{d, deleteDone})
		case errors.Is(err, errLeased):
			outs = append(outs, outcome{d, deleteRescued})
		case errors.Is(err, errChanged), errors.Is(err, sharestore.ErrConflict):
			// The guard saw a rewrite, or a conditional delete (the
			// store's or a plugin's) refused one.
			a.cfg.Logger.Warn("share changed since it was judged; not deleted, back to stable", "si", d.SI.String(), "shnum", d.Shnum, "err", err)
			outs = append(outs, outcome{d, deleteChanged})
		case ctx.Err() != nil:
			return sharestore.CtxErr(ctx)
		default:
			a.cfg.Logger.Warn("delete failed; the share stays and is retried next cycle", "si", d.SI.String(), "shnum", d.Shnum, "err", err)
			outs = append(outs, outcome{d, deleteFailed})
		}
	}
	return a.db.Update(ctx, func(tx *leasedb.Tx) error {
		if err := CheckClaim(ctx, tx, p); err != nil {
			return err
		}
		actual := bucketSet{}
		for _, o := range outs {
			if o.kind == deleteDone {
				if err := tx.RemoveDeletedShare(ctx, o.d.SI, o.d.Shnum); err != nil {
					return err
				}
				tally(res.Counters, "actual", o.d.Type, o.d.Size, o.d.UsedSpace)
				actual.add(o.d.Type, o.d.SI)
				o.d.Why.Outcome = OutcomeDeleted
				res.Deletions = append(res.Deletions, o.d.Why)
				continue
			}
			if err := tx.MarkStable(ctx, o.d.SI, o.d.Shnum, -1); err != nil {
				return err
			}
			switch o.kind {
			case deleteRescued:
				res.Counters["lease-rescued"]++
				o.d.Why.Outcome = OutcomeKeptLeased
			case deleteChanged:
				res.Counters["delete-changed"]++
				o.d.Why.Outcome = OutcomeKeptChanged
			default:
				res.Counters["delete-failed"]++
				o.d.Why.Outcome = OutcomeFailed
			}
			res.Deletions = append(res.Deletions, o.d.Why)
		}
		actual.into(res.Counters, "actual")
		res.Pending = nil
		res.Done = true
		js, err := json.Marshal(res)
		if err != nil {
			return err
		}
		return tx.PutPrefixResult(ctx, AccountingName, cycle.ID, p, js)
	})
}

// FinishedCycle writes the cycle's history entry.
func (a *Accounting) FinishedCycle(ctx context.Context, cycle Cycle, _ map[sharestore.Prefix]json.RawMessage) error {
	if err := a.flushSettled(ctx); err != nil {
		return err
	}
	a.takeAhead("")
	if a.lister != nil {
		a.lister.close()
	}
	a.mu.Lock()
	a.lastCycleID = cycle.ID
	a.mu.Unlock()
	return a.db.Update(ctx, func(tx *leasedb.Tx) error {
		results, err := tx.PrefixResults(ctx, AccountingName, cycle.ID)
		if err != nil {
			return err
		}
		sum, err := a.Summarize(results)
		if err != nil {
			return err
		}
		h := HistoryEntry{
			CycleStartFinish:  [2]int64{cycle.Start.Unix(), a.clock.Now().Unix()},
			ExpirationEnabled: a.cfg.Policy.Enabled,
			DryRun:            a.cfg.DryRun,
			Mode:              a.configuredMode(),
			Histogram:         sum.Histogram,
			Corrupt:           sum.Corrupt,
			CorruptCount:      sum.CorruptCount,
			SpaceRecovered:    sum.Counters,
			Requests:          cycle.Requests,
		}
		js, err := json.Marshal(h)
		if err != nil {
			return err
		}
		return tx.AddHistoryEntry(ctx, cycle.Number, js, a.cfg.RetainedHistory)
	})
}

// HistoryEntry is one completed cycle in the lease database's history,
// with Tahoe's keys, and one of sharestore's own (store-requests), which
// Tahoe's readers ignore.
type HistoryEntry struct {
	CycleStartFinish  [2]int64         `json:"cycle-start-finish-times"`
	ExpirationEnabled bool             `json:"expiration-enabled"`
	DryRun            bool             `json:"dry-run"`
	Mode              []any            `json:"configured-expiration-mode"`
	Histogram         [][3]int64       `json:"lease-age-histogram"`
	Corrupt           []CorruptShare   `json:"corrupt-shares"`
	CorruptCount      int64            `json:"corrupt-share-count"`
	SpaceRecovered    map[string]int64 `json:"space-recovered"`
	// Requests counts the requests the backend sent to its store while
	// the cycle ran (Cycle.Requests); nil when they were not counted.
	Requests sharestore.StoreRequests `json:"store-requests,omitempty"`
}

// configuredMode is Tahoe's configured-expiration-mode tuple: (mode,
// override seconds or null, cutoff date or null, share types).
func (a *Accounting) configuredMode() []any {
	p := a.cfg.Policy
	mode := p.Mode
	if mode == "" {
		mode = leasedb.ModeAge
	}
	var override, cutoff any
	if p.Override > 0 {
		override = int64(p.Override.Seconds())
	}
	if !p.CutoffDate.IsZero() {
		cutoff = p.CutoffDate.Unix()
	}
	types := []string{}
	if p.Enabled {
		types = []string{"mutable", "immutable"}
	}
	return []any{mode, override, cutoff, types}
}

// Summary is the sum of a cycle's prefix results.
type Summary struct {
	// Prefixes is how many prefixes have results.
	Prefixes int `json:"prefixes"`
	// Counters are the summed counters.
	Counters map[string]int64 `json:"space-recovered"`
	// Histogram is the lease-age histogram as sorted (min, max, count).
	Histogram [][3]int64 `json:"lease-age-histogram"`
	// Corrupt lists corrupt shares, capped at MaxCorrupt.
	Corrupt []CorruptShare `json:"corrupt-shares"`
	// CorruptCount counts all corrupt shares.
	CorruptCount int64 `json:"corrupt-share-count"`
}

// Summarize sums prefix results in prefix order.
func (a *Accounting) Summarize(results map[sharestore.Prefix]json.RawMessage) (Summary, error) {
	s := Summary{Counters: newCounters(), Histogram: [][3]int64{}, Corrupt: []CorruptShare{}}
	hist := map[int]int64{}
	var ps []sharestore.Prefix
	for p := range results {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Index() < ps[j].Index() })
	for _, p := range ps {
		var r PrefixResult
		if err := json.Unmarshal(results[p], &r); err != nil {
			return s, sharestore.Errorf(sharestore.ErrCorrupt, "accounting: stored result of prefix %s: %w", p, err)
		}
		s.Prefixes++
		for k, v := range r.Counters {
			s.Counters[k] += v
		}
		for bin, n := range r.Histogram {
			hist[bin] += n
		}
		for _, c := range r.Corrupt {
			s.CorruptCount++
			if len(s.Corrupt) < a.cfg.MaxCorrupt {
				s.Corrupt = append(s.Corrupt, c)
			}
		}
	}
	var bins []int
	for b := range hist {
		bins = append(bins, b)
	}
	sort.Ints(bins)
	for _, b := range bins {
		s.Histogram = append(s.Histogram, [3]int64{int64(b) * 86400, int64(b+1) * 86400, hist[b]})
	}
	return s, nil
}

// CycleReport is the accounting crawler's state for status pages:
// the current cycle so far with Tahoe's estimates, and the history.
type CycleReport struct {
	// SoFar sums the prefixes done in the current cycle, or is nil
	// between cycles.
	SoFar *Summary `json:"cycle-to-date,omitempty"`
	// Remaining and Whole estimate the rest and the whole of the current
	// cycle: so_far·(1−pc)/pc and so_far/pc, where pc is the completed
	// fraction; nil while nothing is complete.
	Remaining *Estimate `json:"estimated-remaining-cycle,omitempty"`
	Whole     *Estimate `json:"estimated-current-cycle,omitempty"`
	// History maps cycle numbers to their entries.
	History map[int]HistoryEntry `json:"history"`
}

// Estimate is an estimate of a cycle's counters, shaped as Tahoe's
// estimated-remaining-cycle and estimated-current-cycle.
type Estimate struct {
	// SpaceRecovered holds the estimated counters (see Counter names).
	SpaceRecovered map[string]int64 `json:"space-recovered"`
}

// Report reads the accounting state for the engine state st.
func (a *Accounting) Report(ctx context.Context, st State) (CycleReport, error) {
	var rep CycleReport
	err := a.db.View(ctx, func(tx *leasedb.Tx) error {
		hist, err := tx.History(ctx)
		if err != nil {
			return err
		}
		rep.History = map[int]HistoryEntry{}
		for c, raw := range hist {
			var h HistoryEntry
			if err := json.Unmarshal(raw, &h); err != nil {
				return sharestore.Errorf(sharestore.ErrCorrupt, "accounting: history entry %d: %w", c, err)
			}
			rep.History[c] = h
		}
		if st.CurrentCycle == nil {
			return nil
		}
		results, err := tx.PrefixResults(ctx, AccountingName, st.CycleID)
		if err != nil {
			return err
		}
		sum, err := a.Summarize(results)
		if err != nil {
			return err
		}
		rep.SoFar = &sum
		pc := float64(st.LastCompletePrefix+1) / sharestore.NumPrefixes
		if pc > 0 {
			rep.Remaining, rep.Whole = &Estimate{map[string]int64{}}, &Estimate{map[string]int64{}}
			for k, v := range sum.Counters {
				rem := float64(v) * (1 - pc) / pc
				rep.Remaining.SpaceRecovered[k] = int64(rem)
				rep.Whole.SpaceRecovered[k] = int64(float64(v) + rem)
			}
		}
		return nil
	})
	return rep, err
}

// RecoveredText renders a counter set as Tahoe's status page does: "N
// shares, N sharesets (N mutable / N immutable), B (B / B)" for kind,
// with the disk bytes in IEC units ("1.5 MiB", see units.Bytes) like
// every byte count in the sharestore command's text output.
func RecoveredText(c map[string]int64, kind string) string {
	return fmt.Sprintf("%d shares, %d sharesets (%d mutable / %d immutable), %s (%s / %s)",
		c[kind+"-shares"], c[kind+"-buckets"], c[kind+"-buckets-mutable"], c[kind+"-buckets-immutable"],
		units.Bytes(c[kind+"-diskbytes"]), units.Bytes(c[kind+"-diskbytes-mutable"]), units.Bytes(c[kind+"-diskbytes-immutable"]))
}
