package crawler

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/leasedb"
)

// The steady short cut. Most prefixes of a steady store are the same
// from one cycle to the next: the same shares, all leased, no lease due
// to expire. When a reconcile finds such a prefix it stores a memo of it
// in the lease database (leasedb.Tx.PutPrefixMemo): a digest of the
// listing, when the first of its leases will expire, its examined
// counters and corrupt shares, and the renewal times of its leases. A
// later cycle whose listing has the same digest, whose policy is the
// same, that starts before that expiry, and whose prefix rows no program
// has written since (leasedb.Tx.PrefixMemo, which the database's own
// triggers keep honest) settles the prefix from the memo alone. The
// result is the one a full reconcile would commit: the same counters,
// corrupt list and lease-age histogram (recomputed from the renewal
// times at this cycle's now), and nothing to add, remove, expire or
// delete.

// memoFormat is the memo layout's version; a memo of another format is
// ignored, so a newer crawler never trusts an older one's memo.
const memoFormat = 1

// prefixMemo is what a reconcile remembers of a settled prefix.
type prefixMemo struct {
	Format int `json:"format"`
	// Listing is listingDigest of the listing the prefix was settled on.
	Listing string `json:"listing"`
	// Policy is policyKey of the policy it was judged by.
	Policy string `json:"policy"`
	// Expires is the earliest cycle start, in Unix nanoseconds, at which
	// the policy expires one of its leases; absent if it expires none.
	Expires *int64 `json:"expires,omitempty"`
	// Rows is how many share rows the prefix has.
	Rows int64 `json:"rows"`
	// Counters are the nonzero examined counters.
	Counters map[string]int64 `json:"counters"`
	// Corrupt lists the corrupt shares, in listing order.
	Corrupt []CorruptShare `json:"corrupt,omitempty"`
	// Renewals are (renewal time in Unix seconds, leases) pairs in
	// ascending time.
	Renewals [][2]int64 `json:"renewals"`
}

// listingDigest digests what a reconcile reads of a listing: each
// share's (SI, shnum, size, used space), in order.
func listingDigest(listing []sharestore.ShareInfo) string {
	h := sha256.New()
	var b [sharestore.StorageIndexSize + 24]byte
	for _, info := range listing {
		copy(b[:], info.SI[:])
		n := sharestore.StorageIndexSize
		binary.BigEndian.PutUint64(b[n:], uint64(info.Shnum))
		binary.BigEndian.PutUint64(b[n+8:], uint64(info.Size))
		binary.BigEndian.PutUint64(b[n+16:], uint64(info.UsedSpace))
		h.Write(b[:])
	}
	return base64.RawStdEncoding.EncodeToString(h.Sum(nil))
}

// policyKey identifies everything of a policy that decides expiry.
func policyKey(p leasedb.ExpirationPolicy) string {
	mode := p.Mode
	if mode == "" {
		mode = leasedb.ModeAge
	}
	cutoff := int64(0)
	if !p.CutoffDate.IsZero() {
		cutoff = p.CutoffDate.UnixNano()
	}
	return strconv.FormatBool(p.Enabled) + "/" + mode + "/" + strconv.FormatInt(int64(p.Override), 10) + "/" + strconv.FormatInt(cutoff, 10)
}

// memoOf returns the memo of a prefix whose reconcile res left rows
// (the prefix's rows after the transaction) and leases (its leases after
// the transaction), over listing, or nil if the prefix is not settled:
// something was judged garbage or is pending, a row is not STABLE or
// disagrees with the listing, or a lease is already expired at the
// cycle's start.
func (a *Accounting) memoOf(cycle Cycle, listing []sharestore.ShareInfo, rows map[sharestore.ShareID]leasedb.Share, leases []leasedb.Lease, res *PrefixResult) *prefixMemo {
	if a.noMemo || len(res.Pending) > 0 || len(res.Deletions) > 0 || res.Counters["configured-shares"] > 0 || len(rows) != len(listing) {
		return nil
	}
	for _, info := range listing {
		r, ok := rows[info.ID()]
		if !ok || r.State != leasedb.StateStable || r.UsedSpace != info.UsedSpace {
			return nil
		}
	}
	m := &prefixMemo{Format: memoFormat, Listing: listingDigest(listing), Policy: policyKey(a.cfg.Policy), Rows: int64(len(rows)), Counters: map[string]int64{}, Corrupt: res.Corrupt}
	renewals := map[int64]int64{}
	for _, l := range leases {
		if _, ok := rows[l.ID()]; !ok {
			return nil
		}
		if at, never := a.cfg.Policy.ExpiresAt(l); !never {
			if !cycle.Start.Before(at) {
				return nil // expired and kept (a dry run)
			}
			if n := at.UnixNano(); m.Expires == nil || n < *m.Expires {
				m.Expires = &n
			}
		}
		renewals[l.Renewal.Unix()]++
	}
	for k, v := range res.Counters {
		if v != 0 {
			m.Counters[k] = v
		}
	}
	for _, k := range []string{"added", "vanished", "coming-settled", "delete-changed"} {
		delete(m.Counters, k)
	}
	m.Renewals = make([][2]int64, 0, len(renewals))
	for t, n := range renewals {
		m.Renewals = append(m.Renewals, [2]int64{t, n})
	}
	sort.Slice(m.Renewals, func(i, j int) bool { return m.Renewals[i][0] < m.Renewals[j][0] })
	return m
}

// applies reports whether m settles a prefix listed as digest in cycle.
func (a *Accounting) applies(m *prefixMemo, cycle Cycle, digest string) bool {
	return m.Listing == digest && a.holds(m, cycle)
}

// holds reports whether m's rows stay settled in cycle: its format and
// policy are this crawler's, and none of its leases expires by the
// cycle's start. Its rows are then all leased or corrupt.
func (a *Accounting) holds(m *prefixMemo, cycle Cycle) bool {
	return m.Format == memoFormat && m.Policy == policyKey(a.cfg.Policy) &&
		(m.Expires == nil || cycle.Start.UnixNano() < *m.Expires)
}

// maxForecastQueries bounds the per-prefix queries forecast makes
// before it asks for the whole database's forecast instead.
const maxForecastQueries = 64

// forecast is leasedb.Tx.DeletionForecast for cycle, from the memos
// where it can: a prefix whose memo holds (see holds) and is still
// valid has Rows rows and none to delete, so only the other prefixes
// are asked, one by one, or all at once when there are more than
// maxForecastQueries of them. The result is the same either way.
func (a *Accounting) forecast(ctx context.Context, tx *leasedb.Tx, cycle Cycle) (leasedb.Forecast, error) {
	if a.noMemo {
		return tx.DeletionForecast(ctx, a.cfg.Policy, cycle.Start)
	}
	memos, err := tx.PrefixMemos(ctx, AccountingName)
	if err != nil {
		return leasedb.Forecast{}, err
	}
	var f leasedb.Forecast
	var rest []sharestore.Prefix
	for i := 0; i < sharestore.NumPrefixes; i++ {
		p := sharestore.PrefixAt(i)
		var m prefixMemo
		if raw, ok := memos[p]; ok && json.Unmarshal(raw, &m) == nil && a.holds(&m, cycle) {
			f.Shares += m.Rows
			continue
		}
		if rest = append(rest, p); len(rest) > maxForecastQueries {
			return tx.DeletionForecast(ctx, a.cfg.Policy, cycle.Start)
		}
	}
	for _, p := range rest {
		g, err := tx.DeletionForecastOf(ctx, a.cfg.Policy, cycle.Start, p)
		if err != nil {
			return leasedb.Forecast{}, err
		}
		f.Shares += g.Shares
		f.Unleased += g.Unleased
	}
	return f, nil
}

// result is the prefix result m gives at now.
func (m *prefixMemo) result(now time.Time) *PrefixResult {
	res := &PrefixResult{Done: true, Counters: newCounters(), Histogram: map[int]int64{}, Corrupt: m.Corrupt}
	for k, v := range m.Counters {
		res.Counters[k] = v
	}
	for _, r := range m.Renewals {
		res.Histogram[int(now.Sub(time.Unix(r[0], 0))/(24*time.Hour))] += r[1]
	}
	return res
}

// memoBatch is how many prefixes settled from memos are committed in
// one transaction.
const memoBatch = 64

// begin starts p's work in cycle. In one read-only snapshot it reads
// p's result of this cycle, committed before a restart (prior: done, or
// between its two transactions), and, if there is none, p's memo: when
// the memo applies to this cycle and listing (see prefixMemo), p's
// result is computed from it and settled is true. Such results are
// committed memoBatch at a time, and by Flush, which the engine calls
// before it saves its state: a prefix the saved state counts as done
// always has its result committed, and one lost in a crash is settled
// again when the cycle resumes.
func (a *Accounting) begin(ctx context.Context, cycle Cycle, p sharestore.Prefix, listing []sharestore.ShareInfo) (prior *PrefixResult, settled bool, err error) {
	var digest string
	if !a.noMemo {
		digest = listingDigest(listing)
	}
	var js json.RawMessage
	err = a.db.View(ctx, func(tx *leasedb.Tx) error {
		raw, ok, err := tx.PrefixResult(ctx, AccountingName, cycle.ID, p)
		if err != nil {
			return err
		}
		if ok {
			prior = &PrefixResult{}
			if err := json.Unmarshal(raw, prior); err != nil {
				return sharestore.Errorf(sharestore.ErrCorrupt, "accounting: stored result of prefix %s: %w", p, err)
			}
			return nil
		}
		if a.noMemo {
			return nil
		}
		if raw, ok, err = tx.PrefixMemo(ctx, AccountingName, p); err != nil || !ok {
			return err
		}
		var m prefixMemo
		if json.Unmarshal(raw, &m) != nil || !a.applies(&m, cycle, digest) {
			return nil // an unreadable or stale memo is only a miss
		}
		js, err = json.Marshal(m.result(a.clock.Now()))
		return err
	})
	if err != nil || js == nil {
		return prior, false, err
	}
	a.mu.Lock()
	a.memoHits++
	a.settled = append(a.settled, leasedb.PrefixResultRow{Cycle: cycle.ID, Prefix: p, Result: js})
	full := len(a.settled) >= memoBatch
	a.mu.Unlock()
	if full {
		err = a.flushSettled(ctx)
	}
	return nil, true, err
}

// Flush commits the results of the prefixes settled from memos that are
// not committed yet. The engine calls it before it saves its state.
func (a *Accounting) Flush() error { return a.flushSettled(context.Background()) }

// flushSettled commits the settled results in one transaction, which
// locks only their rows (leasedb.DB.PutPrefixResults): their prefixes'
// work is done, so workers sharing a cycle need not queue for the
// database's write lock to store them. If that fails they stay pending,
// for the next try.
func (a *Accounting) flushSettled(ctx context.Context) error {
	a.mu.Lock()
	batch := a.settled
	a.settled = nil
	a.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := a.db.PutPrefixResults(ctx, AccountingName, batch)
	if err != nil {
		a.mu.Lock()
		a.settled = append(batch, a.settled...)
		a.mu.Unlock()
	}
	return err
}
