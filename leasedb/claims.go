package leasedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sharestore/sharestore"
)

// Several crawler workers, in as many processes, may share one cycle of
// one crawler through the lease database. The cycle's record (its
// number, ID, start and state) is one row of crawler_cycles, and each of
// its prefixes is one row of crawler_claims. A worker claims prefixes
// by writing its name and a deadline into their rows, renews the
// deadline while it works, and marks a prefix done when its work has
// committed. A claim whose deadline has passed may be taken by any
// worker, so the prefixes of a worker that died are redone by the
// others. On PostgreSQL the claims lock only the rows they take
// (SELECT … FOR UPDATE SKIP LOCKED), so workers never wait for each
// other to claim; on SQLite, one file serves one process, and the
// claims are ordinary write transactions.

// CycleState is where a shared cycle is in its life.
type CycleState int

// The states of a shared cycle, in order.
const (
	// CycleStarting: a worker (SharedCycle.Holder) is starting the
	// cycle, until SharedCycle.Deadline.
	CycleStarting CycleState = 1
	// CycleRunning: the cycle's prefixes are being claimed and done.
	CycleRunning CycleState = 2
	// CycleFinishing: every prefix is done, and a worker (Holder) is
	// finishing the cycle, until Deadline.
	CycleFinishing CycleState = 3
	// CycleFinished: the cycle is over (SharedCycle.End).
	CycleFinished CycleState = 4
)

// String returns the state's name, such as "running".
func (s CycleState) String() string {
	switch s {
	case CycleStarting:
		return "starting"
	case CycleRunning:
		return "running"
	case CycleFinishing:
		return "finishing"
	case CycleFinished:
		return "finished"
	}
	return fmt.Sprintf("CycleState(%d)", int(s))
}

// SharedCycle is the record of a crawler's shared cycle: the one in
// progress, or the last one finished.
type SharedCycle struct {
	// Number and ID identify the cycle, as the crawler engine numbers
	// and names it.
	Number int
	ID     string
	// Start is when the cycle started.
	Start time.Time
	// State is where the cycle is.
	State CycleState
	// Holder is the worker that is starting or finishing the cycle, and
	// Deadline the time until which it holds that right; both are zero
	// while the cycle runs and once it finished.
	Holder   string
	Deadline time.Time
	// End is when the cycle finished; zero before.
	End time.Time
	// Store names the store the cycle walks. Workers of another store
	// are refused (TakeCycleStart).
	Store string
	// Extra is the crawler's own state, published by the worker that
	// finished the cycle (EndCycle), for every worker to load.
	Extra json.RawMessage
}

// Claim is one prefix of a shared cycle.
type Claim struct {
	// Prefix is the prefix.
	Prefix sharestore.Prefix
	// Holder is the worker that holds the prefix, until Deadline; an
	// empty Holder with a Deadline is a prefix released after a failure
	// that may be claimed again after Deadline.
	Holder   string
	Deadline time.Time
	// Done reports that the prefix's work has committed.
	Done bool
	// Attempts counts the failed attempts at the prefix.
	Attempts int
	// Failure is the crawler's record of why the prefix failed for
	// good, for a prefix that is done without a result; nil otherwise.
	Failure json.RawMessage
	// Result is the crawler's result for the prefix, if it keeps one.
	Result json.RawMessage
}

// ClaimOutcome is how a worker ends its claim of a prefix (CompleteClaims).
type ClaimOutcome struct {
	// Prefix is the prefix.
	Prefix sharestore.Prefix
	// Result is the crawler's result, or nil.
	Result json.RawMessage
	// Failure, if not nil, records that the prefix failed for good.
	Failure json.RawMessage
}

// nanos returns t as nanoseconds since the epoch, or nil for the zero
// time.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func nullJSON(j json.RawMessage) any {
	if j == nil {
		return nil
	}
	return string(j)
}

const sqlSelectCycle = "SELECT `cycle`, `cycle_id`, `start_ns`, `state`, `holder`, `deadline_ns`, `end_ns`, `store`, `extra`" +
	" FROM `crawler_cycles` WHERE `crawler` = ?"

// sharedCycle reads crawler's cycle record in tx, locking its row in a
// write transaction; ok is false if there is none.
func (tx *Tx) sharedCycle(ctx context.Context, crawler string) (c SharedCycle, ok bool, err error) {
	q := sqlSelectCycle
	if !tx.ro {
		q += tx.db.eng.rowLock(false)
	}
	rows, err := tx.query(ctx, "read shared cycle", q, crawler)
	if err != nil {
		return c, false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return c, false, tx.db.classify(rows.Err(), "read shared cycle")
	}
	var (
		start         int64
		holder, extra sql.NullString
		deadline, end sql.NullInt64
	)
	if err := rows.Scan(&c.Number, &c.ID, &start, &c.State, &holder, &deadline, &end, &c.Store, &extra); err != nil {
		return c, false, tx.db.classify(err, "read shared cycle")
	}
	c.Start = time.Unix(0, start).UTC()
	c.Holder, c.Deadline, c.End = holder.String, fromNanos(deadline), fromNanos(end)
	if extra.Valid {
		c.Extra = json.RawMessage(extra.String)
	}
	return c, true, nil
}

// SharedCycle returns crawler's shared cycle record; ok is false if no
// worker has started a shared cycle of crawler in this database.
func (db *DB) SharedCycle(ctx context.Context, crawler string) (c SharedCycle, ok bool, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		c, ok, err = tx.sharedCycle(ctx, crawler)
		return err
	})
	return c, ok, err
}

// TakeCycleStart makes next.Holder the worker that starts the cycle next
// (its Number, ID, Start, Holder, Deadline and Store) of crawler, and
// reports whether it did. It does so only if crawler's record is still
// the cycle prevID ("" for none), and that cycle has finished or its
// starter's deadline has passed at now: of several workers that read the
// same record and try, exactly one succeeds. A record of another store
// fails with sharestore.ErrConflict, naming both: workers of one lease
// database must walk one store.
func (db *DB) TakeCycleStart(ctx context.Context, crawler, prevID string, next SharedCycle, now time.Time) (bool, error) {
	if next.Holder == "" || next.ID == "" || next.Store == "" {
		return false, sharestore.Errorf(sharestore.ErrInvalidArgument, "leasedb %s: a cycle start needs a holder, an ID and a store", db.path)
	}
	taken := false
	err := db.Update(ctx, func(tx *Tx) error {
		cur, ok, err := tx.sharedCycle(ctx, crawler)
		if err != nil {
			return err
		}
		if ok && cur.Store != next.Store {
			return sharestore.Errorf(sharestore.ErrConflict,
				"leasedb %s: the %s crawler's shared cycles walk the store %q, not %q: workers that share a lease database must walk the same store",
				db.path, crawler, cur.Store, next.Store)
		}
		switch {
		case !ok && prevID != "", ok && cur.ID != prevID:
			return nil // another worker moved first
		case ok && cur.State != CycleFinished && !(cur.State == CycleStarting && cur.Deadline.Before(now)):
			return nil
		}
		_, err = tx.exec(ctx, "start shared cycle",
			"INSERT INTO `crawler_cycles` VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (`crawler`) DO UPDATE SET"+
				" `cycle` = excluded.`cycle`, `cycle_id` = excluded.`cycle_id`, `start_ns` = excluded.`start_ns`, `state` = excluded.`state`,"+
				" `holder` = excluded.`holder`, `deadline_ns` = excluded.`deadline_ns`, `end_ns` = NULL",
			crawler, next.Number, next.ID, next.Start.UnixNano(), int(CycleStarting), next.Holder, nanos(next.Deadline), next.Store, nullJSON(cur.Extra))
		taken = err == nil
		return err
	})
	return taken, err
}

// OpenCycle ends holder's start of crawler's cycle id: it replaces the
// claims of the crawler's earlier cycle with one unclaimed claim per
// prefix in prefixes, and lets the cycle run. If holder no longer holds
// the start (its deadline passed and another worker took it), it fails
// with sharestore.ErrConflict and changes nothing.
func (db *DB) OpenCycle(ctx context.Context, crawler, id, holder string, prefixes []sharestore.Prefix) error {
	return db.Update(ctx, func(tx *Tx) error {
		cur, ok, err := tx.sharedCycle(ctx, crawler)
		if err != nil {
			return err
		}
		if !ok || cur.ID != id || cur.State != CycleStarting || cur.Holder != holder {
			return sharestore.Errorf(sharestore.ErrConflict, "leasedb %s: worker %s no longer holds the start of the %s crawler's cycle %s", db.path, holder, crawler, id)
		}
		if _, err := tx.exec(ctx, "open shared cycle", "DELETE FROM `crawler_claims` WHERE `crawler` = ?", crawler); err != nil {
			return err
		}
		const batch = 256
		for len(prefixes) > 0 {
			n := min(batch, len(prefixes))
			var q strings.Builder
			q.WriteString("INSERT INTO `crawler_claims` (`crawler`, `prefix`, `cycle_id`, `done`, `attempts`) VALUES ")
			args := make([]any, 0, 3*n)
			for i, p := range prefixes[:n] {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, 0, 0)")
				args = append(args, crawler, string(p), id)
			}
			if _, err := tx.exec(ctx, "open shared cycle", q.String(), args...); err != nil {
				return err
			}
			prefixes = prefixes[n:]
		}
		_, err = tx.exec(ctx, "open shared cycle",
			"UPDATE `crawler_cycles` SET `state` = ?, `holder` = NULL, `deadline_ns` = NULL WHERE `crawler` = ?", int(CycleRunning), crawler)
		return err
	})
}

// ClaimPrefixes claims, for holder until deadline, up to n prefixes of
// crawler's cycle id that are not done and that nobody holds at now (no
// claim, or one whose deadline has passed), the lowest first, and
// returns them in order. Claims other workers are taking at the same
// moment are skipped, never waited for. It returns none when no prefix
// is free.
func (db *DB) ClaimPrefixes(ctx context.Context, crawler, id, holder string, now, deadline time.Time, n int) ([]sharestore.Prefix, error) {
	var out []sharestore.Prefix
	err := db.updateRows(ctx, func(tx *Tx) error {
		out = nil
		rows, err := tx.query(ctx, "claim prefixes",
			// The free rows are chosen once, in a common table
			// expression: PostgreSQL may run a LIMIT subquery of the
			// WHERE clause more than once, and claim more than n.
			"WITH `free` AS (SELECT `prefix` FROM `crawler_claims` WHERE `crawler` = ? AND `cycle_id` = ? AND `done` = 0"+
				" AND (`deadline_ns` IS NULL OR `deadline_ns` < ?) ORDER BY `prefix` LIMIT ?"+tx.db.eng.rowLock(true)+")"+
				" UPDATE `crawler_claims` SET `holder` = ?, `deadline_ns` = ? WHERE `crawler` = ? AND `prefix` IN (SELECT `prefix` FROM `free`) RETURNING `prefix`",
			crawler, id, now.UnixNano(), n, holder, deadline.UnixNano(), crawler)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				return tx.db.classify(err, "claim prefixes")
			}
			out = append(out, sharestore.Prefix(p))
		}
		return tx.db.classify(rows.Err(), "claim prefixes")
	})
	slices.Sort(out)
	return out, err
}

// RenewClaims moves the deadline of every claim holder holds in
// crawler's cycle id, and is not done, to deadline, and returns how many
// it renewed.
func (db *DB) RenewClaims(ctx context.Context, crawler, id, holder string, deadline time.Time) (int, error) {
	var n int64
	err := db.updateRows(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "renew claims",
			"UPDATE `crawler_claims` SET `deadline_ns` = ? WHERE `crawler` = ? AND `cycle_id` = ? AND `holder` = ? AND `done` = 0",
			deadline.UnixNano(), crawler, id, holder)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return tx.db.classify(err, "renew claims")
	})
	return int(n), err
}

// CheckClaim fails with sharestore.ErrConflict unless holder holds
// prefix in crawler's cycle id, and locks the claim until tx ends, so
// that no other worker takes it before tx commits. A crawler calls it in
// every transaction that commits a prefix's work: a worker whose claim
// ran out and was taken then commits nothing.
func (tx *Tx) CheckClaim(ctx context.Context, crawler, id string, prefix sharestore.Prefix, holder string) error {
	if err := tx.checkWritable("check claim"); err != nil {
		return err
	}
	rows, err := tx.query(ctx, "check claim",
		"SELECT `holder`, `done` FROM `crawler_claims` WHERE `crawler` = ? AND `prefix` = ? AND `cycle_id` = ?"+tx.db.eng.rowLock(false),
		crawler, string(prefix), id)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		cur  sql.NullString
		done int
	)
	found := rows.Next()
	if found {
		if err := rows.Scan(&cur, &done); err != nil {
			return tx.db.classify(err, "check claim")
		}
	}
	if err := tx.db.classify(rows.Err(), "check claim"); err != nil {
		return err
	}
	if !found || cur.String != holder || done != 0 {
		return sharestore.Errorf(sharestore.ErrConflict, "leasedb %s: prefix %s of the %s crawler's cycle %s is no longer claimed by %s (holder %q)",
			tx.db.path, prefix, crawler, id, holder, cur.String)
	}
	return nil
}

// CompleteClaims marks done, with their results or failures, the
// prefixes of outcomes that holder holds in crawler's cycle id. It
// returns the prefixes holder no longer held (another worker took them
// after their deadline passed, and will do them again), and how many
// prefixes of the cycle are still not done.
func (db *DB) CompleteClaims(ctx context.Context, crawler, id, holder string, outcomes []ClaimOutcome) (lost []sharestore.Prefix, remaining int, err error) {
	err = db.updateRows(ctx, func(tx *Tx) error {
		lost = nil
		for _, o := range outcomes {
			res, err := tx.exec(ctx, "complete claim",
				"UPDATE `crawler_claims` SET `done` = 1, `holder` = NULL, `deadline_ns` = NULL, `result` = ?, `failure` = ?"+
					" WHERE `crawler` = ? AND `prefix` = ? AND `cycle_id` = ? AND `holder` = ? AND `done` = 0",
				nullJSON(o.Result), nullJSON(o.Failure), crawler, string(o.Prefix), id, holder)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return tx.db.classify(err, "complete claim")
			} else if n == 0 {
				lost = append(lost, o.Prefix)
			}
		}
		remaining, err = tx.remaining(ctx, crawler, id)
		return err
	})
	return lost, remaining, err
}

func (tx *Tx) remaining(ctx context.Context, crawler, id string) (int, error) {
	var n int
	rows, err := tx.query(ctx, "count claims", "SELECT count(*) FROM `crawler_claims` WHERE `crawler` = ? AND `cycle_id` = ? AND `done` = 0", crawler, id)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, tx.db.classify(err, "count claims")
		}
	}
	return n, tx.db.classify(rows.Err(), "count claims")
}

// FailClaim records a failed attempt at prefix, which holder holds in
// crawler's cycle id. Once the prefix has failed maxAttempts times, it
// is done, with failure as its record, and done is true; until then it
// is released, to be claimed again, by any worker, after notBefore. It
// returns the failed attempts so far, this one included, and held false
// (changing nothing) if holder no longer held the prefix.
func (db *DB) FailClaim(ctx context.Context, crawler, id string, prefix sharestore.Prefix, holder string, failure json.RawMessage, maxAttempts int, notBefore time.Time) (attempts int, done, held bool, err error) {
	err = db.updateRows(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, "fail claim",
			"UPDATE `crawler_claims` SET `holder` = NULL, `attempts` = `attempts` + 1,"+
				" `done` = CASE WHEN `attempts` + 1 >= CAST(? AS BIGINT) THEN 1 ELSE 0 END,"+
				" `deadline_ns` = CASE WHEN `attempts` + 1 >= CAST(? AS BIGINT) THEN NULL ELSE CAST(? AS BIGINT) END,"+
				" `failure` = CASE WHEN `attempts` + 1 >= CAST(? AS BIGINT) THEN CAST(? AS TEXT) ELSE NULL END"+
				" WHERE `crawler` = ? AND `prefix` = ? AND `cycle_id` = ? AND `holder` = ? AND `done` = 0 RETURNING `attempts`, `done`",
			maxAttempts, maxAttempts, notBefore.UnixNano(), maxAttempts, nullJSON(failure), crawler, string(prefix), id, holder)
		if err != nil {
			return err
		}
		defer rows.Close()
		if held = rows.Next(); held {
			var d int
			if err := rows.Scan(&attempts, &d); err != nil {
				return tx.db.classify(err, "fail claim")
			}
			done = d != 0
		}
		return tx.db.classify(rows.Err(), "fail claim")
	})
	return attempts, done, held, err
}

// ReopenClaims makes prefixes of crawler's cycle id not done and
// unclaimed again, with no attempts, forgetting their results and
// failures: a worker that stops its cycle for an error every prefix
// meets (wrong credentials, say) leaves those prefixes for a later try.
func (db *DB) ReopenClaims(ctx context.Context, crawler, id string, prefixes []sharestore.Prefix) error {
	return db.updateRows(ctx, func(tx *Tx) error {
		for _, p := range prefixes {
			if _, err := tx.exec(ctx, "reopen claim",
				"UPDATE `crawler_claims` SET `done` = 0, `holder` = NULL, `deadline_ns` = NULL, `attempts` = 0, `failure` = NULL, `result` = NULL"+
					" WHERE `crawler` = ? AND `prefix` = ? AND `cycle_id` = ?", crawler, string(p), id); err != nil {
				return err
			}
		}
		return nil
	})
}

// TakeCycleFinish makes holder, until deadline, the worker that finishes
// crawler's cycle id, and reports whether it did. It does so only if
// every prefix of the cycle is done and the cycle is running, or is
// being finished by a worker whose deadline passed at now (or by holder
// itself): of several workers that try, exactly one succeeds.
func (db *DB) TakeCycleFinish(ctx context.Context, crawler, id, holder string, now, deadline time.Time) (bool, error) {
	taken := false
	err := db.Update(ctx, func(tx *Tx) error {
		cur, ok, err := tx.sharedCycle(ctx, crawler)
		if err != nil || !ok || cur.ID != id {
			return err
		}
		switch cur.State {
		case CycleRunning:
			if n, err := tx.remaining(ctx, crawler, id); err != nil || n > 0 {
				return err
			}
		case CycleFinishing:
			if cur.Holder != holder && !cur.Deadline.Before(now) {
				return nil
			}
		default:
			return nil
		}
		_, err = tx.exec(ctx, "finish shared cycle", "UPDATE `crawler_cycles` SET `state` = ?, `holder` = ?, `deadline_ns` = ? WHERE `crawler` = ?",
			int(CycleFinishing), holder, deadline.UnixNano(), crawler)
		taken = err == nil
		return err
	})
	return taken, err
}

// EndCycle records crawler's cycle id, which holder is finishing, as
// finished at end, with extra as the crawler's published state (nil
// keeps the one before). If holder no longer holds the finish, it fails
// with sharestore.ErrConflict and changes nothing.
func (db *DB) EndCycle(ctx context.Context, crawler, id, holder string, end time.Time, extra json.RawMessage) error {
	return db.Update(ctx, func(tx *Tx) error {
		cur, ok, err := tx.sharedCycle(ctx, crawler)
		if err != nil {
			return err
		}
		if !ok || cur.ID != id || cur.State != CycleFinishing || cur.Holder != holder {
			return sharestore.Errorf(sharestore.ErrConflict, "leasedb %s: worker %s no longer holds the finish of the %s crawler's cycle %s", db.path, holder, crawler, id)
		}
		if extra == nil {
			extra = cur.Extra
		}
		_, err = tx.exec(ctx, "end shared cycle",
			"UPDATE `crawler_cycles` SET `state` = ?, `holder` = NULL, `deadline_ns` = NULL, `end_ns` = ?, `extra` = ? WHERE `crawler` = ?",
			int(CycleFinished), end.UnixNano(), nullJSON(extra), crawler)
		return err
	})
}

// Claims returns every claim of crawler's cycle id, in prefix order, in
// one snapshot.
func (db *DB) Claims(ctx context.Context, crawler, id string) ([]Claim, error) {
	return db.claims(ctx, crawler, id, "")
}

// ClaimProgress returns, in one snapshot, how many prefixes of
// crawler's cycle id are done, and the claims of those that failed for
// good, in prefix order: what a worker shows of the whole cycle, without
// reading every claim.
func (db *DB) ClaimProgress(ctx context.Context, crawler, id string) (done int, failed []Claim, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, "count claims", "SELECT count(*) FROM `crawler_claims` WHERE `crawler` = ? AND `cycle_id` = ? AND `done` = 1", crawler, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := rows.Scan(&done); err != nil {
				rows.Close()
				return tx.db.classify(err, "count claims")
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return tx.db.classify(err, "count claims")
		}
		failed, err = tx.claims(ctx, crawler, id, " AND `failure` IS NOT NULL")
		return err
	})
	return done, failed, err
}

func (db *DB) claims(ctx context.Context, crawler, id, where string) ([]Claim, error) {
	var out []Claim
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.claims(ctx, crawler, id, where)
		return err
	})
	return out, err
}

// claims reads crawler's claims of cycle id that match the extra
// condition where ("" for all), in prefix order.
func (tx *Tx) claims(ctx context.Context, crawler, id, where string) ([]Claim, error) {
	var out []Claim
	err := func() error {
		rows, err := tx.query(ctx, "read claims",
			"SELECT `prefix`, `holder`, `deadline_ns`, `done`, `attempts`, `failure`, `result` FROM `crawler_claims`"+
				" WHERE `crawler` = ? AND `cycle_id` = ?"+where+" ORDER BY `prefix`", crawler, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				c                       Claim
				p                       string
				holder, failure, result sql.NullString
				deadline                sql.NullInt64
				done                    int
			)
			if err := rows.Scan(&p, &holder, &deadline, &done, &c.Attempts, &failure, &result); err != nil {
				return tx.db.classify(err, "read claims")
			}
			c.Prefix, c.Holder, c.Deadline, c.Done = sharestore.Prefix(p), holder.String, fromNanos(deadline), done != 0
			if failure.Valid {
				c.Failure = json.RawMessage(failure.String)
			}
			if result.Valid {
				c.Result = json.RawMessage(result.String)
			}
			out = append(out, c)
		}
		return tx.db.classify(rows.Err(), "read claims")
	}()
	return out, err
}
