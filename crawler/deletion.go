package crawler

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/leasedb"
)

// DeleteLimits bound what one accounting cycle may delete. The zero value
// sets no bound; the sharestore command's defaults are conservative (see
// its --max-delete flags).
type DeleteLimits struct {
	// MaxShares stops a cycle's deletions after this many shares; the
	// rest keep their expired leases and wait for a later cycle. Zero or
	// less sets no bound.
	MaxShares int64
	// MaxPercent stops a cycle's deletions at this percentage of the
	// share rows the lease database held when the cycle started (rounded
	// down). Zero or less sets no bound. With MaxShares too, the smaller
	// bound applies.
	MaxPercent float64
	// HoldAbovePercent holds a whole cycle back when the policy would
	// leave more than this percentage of the store's shares without a
	// lease (see leasedb.DeletionForecast): the cycle then expires no
	// lease and deletes nothing, and says so, until the limits are
	// raised. Zero or less never holds a cycle back.
	HoldAbovePercent float64
}

// budget returns how many shares a cycle with forecast f may delete, or
// -1 for no bound.
func (l DeleteLimits) budget(f leasedb.Forecast) int64 {
	b := int64(-1)
	if l.MaxShares > 0 {
		b = l.MaxShares
	}
	if l.MaxPercent > 0 {
		p := int64(l.MaxPercent * float64(f.Shares) / 100)
		if b < 0 || p < b {
			b = p
		}
	}
	return b
}

// holdReason says why a cycle with forecast f is held back, or "" if it
// is not.
func (l DeleteLimits) holdReason(f leasedb.Forecast) string {
	if l.HoldAbovePercent <= 0 || f.Percent() <= l.HoldAbovePercent {
		return ""
	}
	return fmt.Sprintf("the expiration policy would delete %d of %d shares (%.1f%%), more than the limit of %g%%; nothing was deleted and no lease expired (check with a dry run, then raise the limit)",
		f.Unleased, f.Shares, f.Percent(), l.HoldAbovePercent)
}

// Deletion reasons.
const (
	// ReasonLeaseExpired: every lease of the share expired under the
	// policy; Deletion.Lease is the one that expired last.
	ReasonLeaseExpired = "lease-expired"
	// ReasonNoLease: the share had no lease at all.
	ReasonNoLease = "no-lease"
	// ReasonInterrupted: an earlier delete of the share was interrupted
	// (its row was GOING).
	ReasonInterrupted = "interrupted-delete"
)

// Deletion outcomes.
const (
	// OutcomeWouldDelete: a dry run, or a cycle that may not delete,
	// would have deleted the share.
	OutcomeWouldDelete = "would-delete"
	// OutcomeDeferred: the cycle's bound was reached; the share keeps its
	// leases and waits for a later cycle.
	OutcomeDeferred = "deferred"
	// OutcomeDeleted: the share was deleted.
	OutcomeDeleted = "deleted"
	// OutcomeKeptLeased: a lease appeared just before the delete.
	OutcomeKeptLeased = "kept-leased"
	// OutcomeKeptChanged: the share changed after it was judged.
	OutcomeKeptChanged = "kept-changed"
	// OutcomeFailed: the delete failed; it is tried again next cycle.
	OutcomeFailed = "delete-failed"
)

// Deletion explains one share that the accounting crawler judged to be
// garbage, and what became of it.
type Deletion struct {
	SI    string `json:"si"`
	Shnum int    `json:"shnum"`
	Type  string `json:"type"`
	// Size is the share's container size in bytes, from the listing.
	Size int64 `json:"size"`
	// Reason is ReasonLeaseExpired, ReasonNoLease or ReasonInterrupted.
	Reason string `json:"reason"`
	// Lease is, for ReasonLeaseExpired, the lease that expired last.
	Lease *ExpiredLease `json:"lease,omitempty"`
	// Outcome is one of the Outcome constants.
	Outcome string `json:"outcome"`
}

// ExpiredLease describes a lease that the policy expired.
type ExpiredLease struct {
	Account int64     `json:"account"`
	Renewed time.Time `json:"renewed"`
	// Expires is the lease's own expiration time, or nil for a lease
	// that never expires by itself.
	Expires *time.Time `json:"expires,omitempty"`
}

// Why returns the deletion's reason as one line of text.
func (d Deletion) Why() string {
	switch d.Reason {
	case ReasonLeaseExpired:
		if l := d.Lease; l != nil {
			s := fmt.Sprintf("lease of account %d renewed %s", l.Account, l.Renewed.UTC().Format(time.RFC3339))
			if l.Expires != nil {
				s += ", expires " + l.Expires.UTC().Format(time.RFC3339)
			}
			return s + ", expired under the policy"
		}
		return "every lease expired under the policy"
	case ReasonNoLease:
		return "no lease"
	case ReasonInterrupted:
		return "an earlier delete was interrupted"
	}
	return d.Reason
}

// deletionPlan is what a cycle decided at its start about deletions.
// It is stored with the cycle in the lease database, and Used is updated
// in the transaction of each prefix that marks shares GOING, so the bound
// holds across restarts.
type deletionPlan struct {
	Forecast leasedb.Forecast `json:"forecast"`
	// Used counts the shares this cycle marked GOING.
	Used int64 `json:"used"`
}

func planName() string { return AccountingName }

// startPlan forecasts the cycle's deletions and stores a new plan,
// inside the cycle's first transaction, before any lease expires.
func (a *Accounting) startPlan(ctx context.Context, tx *leasedb.Tx, cycle Cycle) (*deletionPlan, error) {
	f, err := a.forecast(ctx, tx, cycle)
	if err != nil {
		return nil, err
	}
	plan := &deletionPlan{Forecast: f}
	if err := a.putPlan(ctx, tx, cycle, plan); err != nil {
		return nil, err
	}
	return plan, nil
}

func (a *Accounting) putPlan(ctx context.Context, tx *leasedb.Tx, cycle Cycle, plan *deletionPlan) error {
	js, err := json.Marshal(plan)
	if err != nil {
		return err
	}
	return tx.PutCyclePlan(ctx, planName(), cycle.ID, js)
}

// planFor returns the cycle's plan, making one if the cycle has none (a
// cycle started before plans existed).
func (a *Accounting) planFor(ctx context.Context, tx *leasedb.Tx, cycle Cycle) (*deletionPlan, error) {
	raw, ok, err := tx.CyclePlan(ctx, planName(), cycle.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return a.startPlan(ctx, tx, cycle)
	}
	plan := &deletionPlan{}
	if err := json.Unmarshal(raw, plan); err != nil {
		return nil, sharestore.Errorf(sharestore.ErrCorrupt, "accounting: stored deletion plan of cycle %s: %v", cycle.ID, err)
	}
	return plan, nil
}

// HeldReason returns why the current cycle deletes nothing although it
// is not a dry run (the store is owned by another lease database, or the
// policy would delete more than DeleteLimits allow), or "".
func (a *Accounting) HeldReason() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.held
}

// decideHold sets the reason this cycle may not delete, from the
// ownership check and the plan's forecast.
func (a *Accounting) decideHold(ctx context.Context, cycle Cycle, plan *deletionPlan) {
	reason := ""
	if a.cfg.MayDelete != nil {
		if err := a.cfg.MayDelete(ctx); err != nil {
			reason = err.Error()
		}
	}
	if reason == "" && a.cfg.Policy.Enabled {
		reason = a.cfg.Limits.holdReason(plan.Forecast)
	}
	a.mu.Lock()
	changed := reason != a.held
	a.held, a.heldCycle = reason, cycle.ID
	a.mu.Unlock()
	if changed && reason != "" && !a.cfg.DryRun {
		a.cfg.Logger.Warn("this cycle deletes nothing: " + reason)
	}
}

// judge is the garbage-collection part of a prefix's first transaction.
// It finds the shares that have no lease left under the policy (never
// corrupt ones) and GOING rows, records why each would go, and, unless
// this is a dry run or the cycle is held back, expires leases, marks the
// shares GOING within the cycle's bound and adds them to res.Pending. It
// also fills the lease-age histogram with the leases that remain. rows
// mirrors the prefix's rows after this transaction's earlier work.
func (a *Accounting) judge(ctx context.Context, tx *leasedb.Tx, cycle Cycle, p sharestore.Prefix, stored map[sharestore.ShareID]sharestore.ShareInfo, rows []leasedb.Share, res *PrefixResult, plan *deletionPlan, now time.Time) (kept []leasedb.Lease, err error) {
	leases, err := tx.LeasesForPrefix(ctx, p)
	if err != nil {
		return nil, err
	}
	expired := map[sharestore.ShareID][]leasedb.Lease{}
	surviving := map[sharestore.ShareID]int{}
	for _, l := range leases {
		if a.cfg.Policy.Expired(l, cycle.Start) {
			expired[l.ID()] = append(expired[l.ID()], l)
		} else {
			surviving[l.ID()]++
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID().Compare(rows[j].ID()) < 0 })
	active := !a.cfg.DryRun && a.HeldReason() == ""
	budget, used := a.cfg.Limits.budget(plan.Forecast), plan.Used
	keep := map[sharestore.ShareID]bool{} // expired leases that stay
	configured := bucketSet{}
	for _, r := range rows {
		id := r.ID()
		info, present := stored[id]
		going := r.State == leasedb.StateGoing
		if !going && (r.State != leasedb.StateStable || surviving[id] > 0 || r.Type == sharestore.ShareTypeCorrupt || !present) {
			continue
		}
		if going && !present {
			info = sharestore.ShareInfo{SI: r.SI, Shnum: r.Shnum, UsedSpace: r.UsedSpace}
		}
		tally(res.Counters, "configured", r.Type, info.Size, info.UsedSpace)
		configured.add(r.Type, r.SI)
		d := newDeletion(r, info, expired[id], going)
		switch {
		case !active:
			d.Outcome = OutcomeWouldDelete
			keep[id] = true
		case going:
			res.Pending = append(res.Pending, pendingOf(r, info, d))
			continue
		case budget >= 0 && plan.Used >= budget:
			d.Outcome = OutcomeDeferred
			keep[id] = true
			res.Counters["delete-deferred"]++
		default:
			if err := tx.MarkGoing(ctx, r.SI, r.Shnum); err != nil {
				return nil, err
			}
			plan.Used++
			res.Pending = append(res.Pending, pendingOf(r, info, d))
			continue
		}
		res.Deletions = append(res.Deletions, d)
	}
	configured.into(res.Counters, "configured")
	if plan.Used != used {
		if err := a.putPlan(ctx, tx, cycle, plan); err != nil {
			return nil, err
		}
	}
	if active {
		for id := range expired {
			if keep[id] {
				continue
			}
			if _, err := tx.RemoveExpiredLeasesOf(ctx, id.SI, id.Shnum, a.cfg.Policy, cycle.Start); err != nil {
				return nil, err
			}
		}
	}
	for _, l := range leases {
		if active && !keep[l.ID()] && a.cfg.Policy.Expired(l, cycle.Start) {
			continue // expired just now
		}
		kept = append(kept, l)
		if _, ok := stored[l.ID()]; ok {
			res.Histogram[int(now.Sub(l.Renewal)/(24*time.Hour))]++
		}
	}
	return kept, nil
}

// newDeletion explains why the share of row r goes.
func newDeletion(r leasedb.Share, info sharestore.ShareInfo, expired []leasedb.Lease, going bool) Deletion {
	d := Deletion{SI: r.SI.String(), Shnum: r.Shnum, Type: r.Type.String(), Size: info.Size, Reason: ReasonNoLease}
	switch {
	case going:
		d.Reason = ReasonInterrupted
	case len(expired) > 0:
		last := expired[0]
		for _, l := range expired[1:] {
			if l.Renewal.After(last.Renewal) {
				last = l
			}
		}
		el := &ExpiredLease{Account: last.Account, Renewed: last.Renewal.UTC()}
		if !last.Expiration.IsZero() {
			e := last.Expiration.UTC()
			el.Expires = &e
		}
		d.Reason, d.Lease = ReasonLeaseExpired, el
	}
	return d
}

// pendingOf is the pending delete of row r, judged from info for reason d.
func pendingOf(r leasedb.Share, info sharestore.ShareInfo, d Deletion) pendingDelete {
	return pendingDelete{SI: r.SI, Shnum: r.Shnum, Type: r.Type, Size: info.Size, UsedSpace: info.UsedSpace, ModTime: info.ModTime, Version: info.Version, Why: d}
}

// Deletions returns every deletion the cycle cycleID judged, in prefix
// order, with its outcome (what a dry run would delete, what a bound
// deferred, what was deleted or kept). The lease database keeps them
// until the next cycle starts.
func (a *Accounting) Deletions(ctx context.Context, cycleID string) ([]Deletion, error) {
	var out []Deletion
	err := a.db.View(ctx, func(tx *leasedb.Tx) error {
		results, err := tx.PrefixResults(ctx, AccountingName, cycleID)
		if err != nil {
			return err
		}
		ps := make([]sharestore.Prefix, 0, len(results))
		for p := range results {
			ps = append(ps, p)
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].Index() < ps[j].Index() })
		for _, p := range ps {
			var r PrefixResult
			if err := json.Unmarshal(results[p], &r); err != nil {
				return sharestore.Errorf(sharestore.ErrCorrupt, "accounting: stored result of prefix %s: %v", p, err)
			}
			out = append(out, r.Deletions...)
			for _, d := range r.Pending {
				out = append(out, d.Why)
			}
		}
		return nil
	})
	return out, err
}

// LastCycleID returns the ID of the last cycle this crawler finished in
// this process, or "" (see Deletions).
func (a *Accounting) LastCycleID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastCycleID
}
