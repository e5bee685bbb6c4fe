package leasedb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
)

// Share is one row of the shares table.
type Share struct {
	SI    sharestore.StorageIndex
	Shnum int
	// UsedSpace is the space the share takes in the backend, in bytes (for
	// a COMING immutable share, its allocation).
	UsedSpace int64
	// Type is the share's kind; the crawler records what it found.
	Type sharestore.ShareType
	// State is COMING, STABLE or GOING.
	State State
}

// ID returns the share's (SI, shnum).
func (s Share) ID() sharestore.ShareID { return sharestore.ShareID{SI: s.SI, Shnum: s.Shnum} }

// Lease is one row of the leases table. Times have one-second resolution.
type Lease struct {
	SI      sharestore.StorageIndex
	Shnum   int
	Account int64
	// Renewal is when the lease was created or last renewed.
	Renewal time.Time
	// Expiration is when the lease runs out; the zero Time means never.
	Expiration time.Time
}

// ID returns the leased share's (SI, shnum).
func (l Lease) ID() sharestore.ShareID { return sharestore.ShareID{SI: l.SI, Shnum: l.Shnum} }

func checkShare(si sharestore.StorageIndex, shnum int) error {
	if shnum < 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "leasedb: share %s/%d: negative share number", si, shnum)
	}
	return nil
}

// checkNew validates the fields of a new or changed share row.
func checkNew(si sharestore.StorageIndex, shnum int, usedSpace int64, t sharestore.ShareType) error {
	if err := checkShare(si, shnum); err != nil {
		return err
	}
	if usedSpace < 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "leasedb: share %s/%d: negative used space %d", si, shnum, usedSpace)
	}
	if t < sharestore.ShareTypeImmutable || t > sharestore.ShareTypeUnknown {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "leasedb: share %s/%d: share type %d is not 0..3", si, shnum, int(t))
	}
	return nil
}

func checkPrefix(p sharestore.Prefix) error {
	if !p.Valid() {
		_, err := sharestore.ParsePrefix(string(p))
		return err
	}
	return nil
}

func unixOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

func notFound(si sharestore.StorageIndex, shnum int) error {
	return sharestore.Errorf(sharestore.ErrNotFound, "leasedb: share %s/%d is not in the shares table", si, shnum)
}

func (tx *Tx) isFKError(err error) bool { return tx.db.eng.isForeignKey(err) }

const (
	sqlAddNewShare = "INSERT INTO `shares` (`storage_index`, `shnum`, `prefix`, `backend_key`, `used_space`, `sharetype`, `state`)" +
		" VALUES (?, ?, ?, NULL, ?, ?, 0)" +
		" ON CONFLICT (`storage_index`, `shnum`) DO UPDATE SET `backend_key` = NULL, `used_space` = excluded.`used_space`," +
		" `sharetype` = excluded.`sharetype`, `state` = 0 WHERE `shares`.`state` != 2"
	sqlSetComing = "INSERT INTO `share_coming` VALUES (?, ?, ?)" +
		" ON CONFLICT (`storage_index`, `shnum`) DO UPDATE SET `coming_since` = excluded.`coming_since`"
	sqlClearComing        = "DELETE FROM `share_coming` WHERE `storage_index` = ? AND `shnum` = ?"
	sqlAddDiscoveredShare = "INSERT INTO `shares` (`storage_index`, `shnum`, `prefix`, `backend_key`, `used_space`, `sharetype`, `state`)" +
		" VALUES (?, ?, ?, NULL, ?, ?, 1) ON CONFLICT DO NOTHING"
	// A lease for a missing share or account fails the foreign key check.
	sqlLeaseOne = "INSERT INTO `leases` (`storage_index`, `shnum`, `account_id`, `renewal_time`, `expiration_time`)" +
		" VALUES (?, ?, ?, ?, ?)" +
		" ON CONFLICT (`storage_index`, `shnum`, `account_id`) DO UPDATE SET" +
		" `renewal_time` = excluded.`renewal_time`, `expiration_time` = excluded.`expiration_time`"
	sqlLeaseSI = "INSERT INTO `leases` (`storage_index`, `shnum`, `account_id`, `renewal_time`, `expiration_time`)" +
		" SELECT `storage_index`, `shnum`, ?, ?, ? FROM `shares` WHERE `storage_index` = ?" +
		" ON CONFLICT (`storage_index`, `shnum`, `account_id`) DO UPDATE SET" +
		" `renewal_time` = excluded.`renewal_time`, `expiration_time` = excluded.`expiration_time`"
	sqlShareCols  = "`storage_index`, `shnum`, `used_space`, `sharetype`, `state`"
	sqlLookup     = "SELECT " + sqlShareCols + " FROM `shares` WHERE `storage_index` = ? AND `shnum` = ?"
	sqlMarkStable = "UPDATE `shares` SET `state` = 1, `backend_key` = NULL," +
		" `used_space` = CASE WHEN ?1 < 0 THEN `used_space` ELSE ?1 END WHERE `storage_index` = ?2 AND `shnum` = ?3"
	sqlMarkGoing    = "UPDATE `shares` SET `state` = 2 WHERE `storage_index` = ? AND `shnum` = ? AND `state` = 1"
	sqlDeleteLeases = "DELETE FROM `leases` WHERE `storage_index` = ? AND `shnum` = ?"
	sqlDeleteShare  = "DELETE FROM `shares` WHERE `storage_index` = ? AND `shnum` = ?"
	sqlChangeSpace  = "UPDATE `shares` SET `used_space` = ? WHERE `storage_index` = ? AND `shnum` = ?"
	// Every storage index of a prefix starts with the prefix and has only
	// base32 characters after it, all below '~', so a range scan of the
	// primary key finds a prefix's rows already in order; this beats
	// Tahoe's `prefix` index, which needs a sort.
	sqlSharesForPrefix = "SELECT " + sqlShareCols + " FROM `shares` WHERE `storage_index` >= ?1 AND `storage_index` < ?1 || '~'" +
		" ORDER BY `storage_index`, `shnum`"
	sqlUnleased = "SELECT " + sqlShareCols + " FROM `shares` s WHERE s.`storage_index` >= ?1 AND s.`storage_index` < ?1 || '~' AND s.`state` = 1" +
		" AND NOT EXISTS (SELECT 1 FROM `leases` l WHERE l.`storage_index` = s.`storage_index` AND l.`shnum` = s.`shnum`)" +
		" ORDER BY s.`storage_index`, s.`shnum`"
	sqlLeaseCols       = "`storage_index`, `shnum`, `account_id`, `renewal_time`, `expiration_time`"
	sqlLeasesForPrefix = "SELECT " + sqlLeaseCols + " FROM `leases` WHERE `storage_index` >= ?1 AND `storage_index` < ?1 || '~'" +
		" ORDER BY `storage_index`, `shnum`, `account_id`"
	sqlLeasesForSI = "SELECT " + sqlLeaseCols + " FROM `leases` WHERE `storage_index` = ? ORDER BY `shnum`, `account_id`"
	sqlLeaseCount  = "SELECT count(*) FROM `leases` WHERE `storage_index` = ? AND `shnum` = ?"
	// Every COMING row has a share_coming row: this package writes them
	// together, and the version 2 migration adds them for V1 files.
	sqlStaleComing = "SELECT s.`storage_index`, s.`shnum`, s.`used_space`, s.`sharetype`, s.`state` FROM `share_coming` c" +
		" JOIN `shares` s ON s.`storage_index` = c.`storage_index` AND s.`shnum` = c.`shnum`" +
		" WHERE c.`coming_since` < ?1 AND s.`state` = 0"
)

// AddNewShare records that a share is being written: the row becomes
// COMING, with the given used space (typically the allocation) and type,
// and the COMING clock starts at now. An existing COMING or STABLE row is
// replaced in place and keeps its leases, as in Tahoe (a mutable write
// moves STABLE → COMING). A GOING row is refused with
// sharestore.ErrConflict: a share must not be re-created while it is being
// deleted.
func (tx *Tx) AddNewShare(ctx context.Context, si sharestore.StorageIndex, shnum int, usedSpace int64, t sharestore.ShareType, now time.Time) error {
	if err := tx.checkWritable("add new share"); err != nil {
		return err
	}
	if err := checkNew(si, shnum, usedSpace, t); err != nil {
		return err
	}
	s := si.String()
	res, err := tx.exec(ctx, "add new share", sqlAddNewShare, s, shnum, s[:2], usedSpace, int(t))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sharestore.Errorf(sharestore.ErrConflict, "leasedb: share %s/%d is being deleted (GOING); it cannot be re-created until the delete ends", si, shnum)
	}
	_, err = tx.exec(ctx, "add new share", sqlSetComing, s, shnum, now.Unix())
	return err
}

// AddDiscoveredShare records a complete share that the accounting crawler
// found in the backend but not in the database: the new row is STABLE
// (Tahoe left such rows COMING for ever). It adds no lease; call
// AddStarterLease too. If a row already exists, whatever its state, it is
// left alone and the error wraps sharestore.ErrConflict.
func (tx *Tx) AddDiscoveredShare(ctx context.Context, si sharestore.StorageIndex, shnum int, usedSpace int64, t sharestore.ShareType) error {
	if err := tx.checkWritable("add discovered share"); err != nil {
		return err
	}
	if err := checkNew(si, shnum, usedSpace, t); err != nil {
		return err
	}
	s := si.String()
	res, err := tx.exec(ctx, "add discovered share", sqlAddDiscoveredShare, s, shnum, s[:2], usedSpace, int(t))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sharestore.Errorf(sharestore.ErrConflict, "leasedb: share %s/%d is already in the shares table", si, shnum)
	}
	return nil
}

// AddStarterLease gives the share a lease from the starter account (1),
// renewed at now and expiring StarterLeaseDuration (60 days) later,
// replacing any starter lease it had. It fails with sharestore.ErrNotFound
// if the share has no row.
func (tx *Tx) AddStarterLease(ctx context.Context, si sharestore.StorageIndex, shnum int, now time.Time) error {
	return tx.AddOrRenewLease(ctx, si, shnum, AccountStarter, now, now.Add(StarterLeaseDuration))
}

// AddOrRenewLease sets account's lease on one share to (renewal,
// expiration), creating it if needed. A zero expiration means the lease
// never expires. The new times replace the old ones unconditionally, so a
// lease can be backdated, as in Tahoe. It works on a row in any state. It
// fails with sharestore.ErrNotFound if the share has no row or the account
// does not exist.
func (tx *Tx) AddOrRenewLease(ctx context.Context, si sharestore.StorageIndex, shnum int, account int64, renewal, expiration time.Time) error {
	if err := tx.checkWritable("add or renew lease"); err != nil {
		return err
	}
	if err := checkShare(si, shnum); err != nil {
		return err
	}
	if _, err := tx.execGuarded(ctx, sqlLeaseOne, si.String(), shnum, account, renewal.Unix(), unixOrNull(expiration)); err != nil {
		if tx.isFKError(err) {
			if _, lerr := tx.LookupShare(ctx, si, shnum); lerr != nil {
				return lerr
			}
			return sharestore.Errorf(sharestore.ErrNotFound, "leasedb: account %d does not exist", account)
		}
		return tx.db.classify(err, "add or renew lease")
	}
	return nil
}

// AddOrRenewLeasesForSI does what AddOrRenewLease does for every share row
// of si, in any state, and returns how many leases it set. An SI with no
// rows is a silent no-op (0, nil), as Tahoe's add_lease is. It fails with
// sharestore.ErrNotFound if the account does not exist.
func (tx *Tx) AddOrRenewLeasesForSI(ctx context.Context, si sharestore.StorageIndex, account int64, renewal, expiration time.Time) (int, error) {
	if err := tx.checkWritable("add or renew leases"); err != nil {
		return 0, err
	}
	res, err := tx.execGuarded(ctx, sqlLeaseSI, account, renewal.Unix(), unixOrNull(expiration), si.String())
	if err != nil {
		if tx.isFKError(err) {
			return 0, sharestore.Errorf(sharestore.ErrNotFound, "leasedb: account %d does not exist", account)
		}
		return 0, tx.db.classify(err, "add or renew leases")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// MarkStable makes the share STABLE: COMING → STABLE when its data is all
// written, GOING → STABLE when a backend delete failed (Tahoe left such rows
// GOING for ever), and STABLE → STABLE as a no-op. A usedSpace ≥ 0 replaces
// the recorded used space; a negative one keeps it. It fails with
// sharestore.ErrNotFound if the share has no row.
func (tx *Tx) MarkStable(ctx context.Context, si sharestore.StorageIndex, shnum int, usedSpace int64) error {
	if err := tx.checkWritable("mark stable"); err != nil {
		return err
	}
	if err := checkShare(si, shnum); err != nil {
		return err
	}
	s := si.String()
	res, err := tx.exec(ctx, "mark stable", sqlMarkStable, usedSpace, s, shnum)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(si, shnum)
	}
	_, err = tx.exec(ctx, "mark stable", sqlClearComing, s, shnum)
	return err
}

// MarkGoing moves a STABLE share to GOING. Call it, and commit, before
// deleting the share from the backend; then call RemoveDeletedShare, or
// MarkStable if the delete failed. A COMING row (still being written) or a
// GOING row (already being deleted) is refused with
// sharestore.ErrConflict; a missing row fails with sharestore.ErrNotFound.
func (tx *Tx) MarkGoing(ctx context.Context, si sharestore.StorageIndex, shnum int) error {
	if err := tx.checkWritable("mark going"); err != nil {
		return err
	}
	if err := checkShare(si, shnum); err != nil {
		return err
	}
	res, err := tx.exec(ctx, "mark going", sqlMarkGoing, si.String(), shnum)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	sh, err := tx.LookupShare(ctx, si, shnum)
	if err != nil {
		return err
	}
	return sharestore.Errorf(sharestore.ErrConflict, "leasedb: share %s/%d is %s; only a stable share can become going", si, shnum, sh.State)
}

// RemoveDeletedShare deletes the share's leases and then its row, in any
// state: the share's objects are gone from the backend. Removing a share
// that has no row is a no-op.
func (tx *Tx) RemoveDeletedShare(ctx context.Context, si sharestore.StorageIndex, shnum int) error {
	if err := tx.checkWritable("remove deleted share"); err != nil {
		return err
	}
	if err := checkShare(si, shnum); err != nil {
		return err
	}
	s := si.String()
	for _, q := range []string{sqlDeleteLeases, sqlDeleteShare, sqlClearComing} {
		if _, err := tx.exec(ctx, "remove deleted share", q, s, shnum); err != nil {
			return err
		}
	}
	return nil
}

// ChangeShareSpace sets the share's used space. It fails with
// sharestore.ErrNotFound if the share has no row.
func (tx *Tx) ChangeShareSpace(ctx context.Context, si sharestore.StorageIndex, shnum int, usedSpace int64) error {
	if err := tx.checkWritable("change share space"); err != nil {
		return err
	}
	if err := checkNew(si, shnum, usedSpace, sharestore.ShareTypeImmutable); err != nil {
		return err
	}
	res, err := tx.exec(ctx, "change share space", sqlChangeSpace, usedSpace, si.String(), shnum)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(si, shnum)
	}
	return nil
}

// LookupShare returns the share's row, or an error wrapping
// sharestore.ErrNotFound if it has none.
func (tx *Tx) LookupShare(ctx context.Context, si sharestore.StorageIndex, shnum int) (Share, error) {
	shares, err := tx.shares(ctx, "lookup share", sqlLookup, si.String(), shnum)
	if err != nil {
		return Share{}, err
	}
	if len(shares) == 0 {
		return Share{}, notFound(si, shnum)
	}
	return shares[0], nil
}

// SharesForPrefix returns every share row of the prefix, in any state,
// sorted by the text form of the SI (bytewise, as Prefixes sorts) and then
// by shnum. An invalid prefix fails with sharestore.ErrInvalidArgument.
func (tx *Tx) SharesForPrefix(ctx context.Context, prefix sharestore.Prefix) ([]Share, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	return tx.shares(ctx, "shares for prefix", sqlSharesForPrefix, string(prefix))
}

// UnleasedSharesForPrefix returns the STABLE share rows of the prefix that
// have no lease, in SharesForPrefix's order: the garbage to collect. COMING
// and GOING rows are never returned.
func (tx *Tx) UnleasedSharesForPrefix(ctx context.Context, prefix sharestore.Prefix) ([]Share, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	return tx.shares(ctx, "unleased shares for prefix", sqlUnleased, string(prefix))
}

// StaleComing returns the COMING rows, in the whole database, that entered
// COMING before olderThan (pass now minus the grace period), including those
// whose entry time is unknown because they predate the version 2 migration
// (recorded as 0). They are
// abandoned uploads or writes (Tahoe left them for ever). The caller
// decides: MarkStable if the share is complete in the backend,
// RemoveDeletedShare if the backend has no such share. The grace period is
// the caller's to configure (DefaultComingGrace is a suggestion). The order
// is SharesForPrefix's.
func (tx *Tx) StaleComing(ctx context.Context, olderThan time.Time) ([]Share, error) {
	return tx.shares(ctx, "stale coming shares", sqlStaleComing+" ORDER BY s.`storage_index`, s.`shnum`", olderThan.Unix())
}

// StaleComingForPrefix is StaleComing limited to one prefix.
func (tx *Tx) StaleComingForPrefix(ctx context.Context, prefix sharestore.Prefix, olderThan time.Time) ([]Share, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	return tx.shares(ctx, "stale coming shares", sqlStaleComing+" AND c.`storage_index` >= ?2 AND c.`storage_index` < ?2 || '~'"+
		" ORDER BY s.`storage_index`, s.`shnum`", olderThan.Unix(), string(prefix))
}

func (tx *Tx) shares(ctx context.Context, op, query string, args ...any) ([]Share, error) {
	rows, err := tx.query(ctx, op, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Share
	for rows.Next() {
		var (
			s    string
			sh   Share
			t, u int
		)
		if err := rows.Scan(&s, &sh.Shnum, &sh.UsedSpace, &t, &u); err != nil {
			return nil, tx.db.classify(err, op)
		}
		if sh.SI, err = tx.db.parseSI(s); err != nil {
			return nil, err
		}
		sh.Type, sh.State = sharestore.ShareType(t), State(u)
		out = append(out, sh)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.db.classify(err, op)
	}
	return out, nil
}

func (db *DB) parseSI(s string) (sharestore.StorageIndex, error) {
	si, err := sharestore.ParseStorageIndex(s)
	if err != nil {
		return si, sharestore.Errorf(sharestore.ErrCorrupt, "leasedb %s: bad storage_index %q in the database: %v", db.path, s, err)
	}
	return si, nil
}

// LeasesForPrefix returns every lease on every share of the prefix, in one
// query, sorted by SI text, shnum and account. The crawler builds its
// lease-age histogram from it (age = now − Renewal).
func (tx *Tx) LeasesForPrefix(ctx context.Context, prefix sharestore.Prefix) ([]Lease, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	return tx.leases(ctx, "leases for prefix", sqlLeasesForPrefix, string(prefix))
}

// Leases returns every lease on every share of si, sorted by shnum and
// account; none if si has no leases.
func (tx *Tx) Leases(ctx context.Context, si sharestore.StorageIndex) ([]Lease, error) {
	return tx.leases(ctx, "leases", sqlLeasesForSI, si.String())
}

// LeaseAges returns, for every share of the prefix that has leases, the
// age of each lease at now (now − renewal time, negative for a lease
// renewed after now), in account order. It runs one query.
func (tx *Tx) LeaseAges(ctx context.Context, prefix sharestore.Prefix, now time.Time) (map[sharestore.ShareID][]time.Duration, error) {
	leases, err := tx.LeasesForPrefix(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make(map[sharestore.ShareID][]time.Duration)
	for _, l := range leases {
		id := l.ID()
		out[id] = append(out[id], now.Sub(l.Renewal))
	}
	return out, nil
}

// LeaseCount returns how many leases the share has (0 if it has no row).
// The crawler calls it under the SI lock just before deleting a share.
func (tx *Tx) LeaseCount(ctx context.Context, si sharestore.StorageIndex, shnum int) (int, error) {
	rows, err := tx.query(ctx, "lease count", sqlLeaseCount, si.String(), shnum)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, tx.db.classify(err, "lease count")
		}
	}
	return n, tx.db.classify(rows.Err(), "lease count")
}

func (tx *Tx) leases(ctx context.Context, op, query string, args ...any) ([]Lease, error) {
	rows, err := tx.query(ctx, op, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var (
			s   string
			l   Lease
			r   int64
			exp sql.NullInt64
		)
		if err := rows.Scan(&s, &l.Shnum, &l.Account, &r, &exp); err != nil {
			return nil, tx.db.classify(err, op)
		}
		if l.SI, err = tx.db.parseSI(s); err != nil {
			return nil, err
		}
		l.Renewal = time.Unix(r, 0).UTC()
		if exp.Valid {
			l.Expiration = time.Unix(exp.Int64, 0).UTC()
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.db.classify(err, op)
	}
	return out, nil
}

// bulkRows is how many rows one statement of AddDiscoveredShares inserts.
const bulkRows = 100

// AddDiscoveredShares is the bulk form of AddDiscoveredShare followed by
// AddStarterLease(now) for each share, for the accounting crawler's new
// shares of one prefix (and for rebuilding a lost database). The State
// field of each Share is ignored: every row is STABLE. It inserts many rows
// per statement, which is several times faster than the per-share calls.
// If any share already has a row, or appears twice, it fails with
// sharestore.ErrConflict naming one such share; the batch may then be
// partly applied, so roll the transaction back.
func (tx *Tx) AddDiscoveredShares(ctx context.Context, shares []Share, now time.Time) error {
	if err := tx.checkWritable("add discovered shares"); err != nil {
		return err
	}
	for _, sh := range shares {
		if err := checkNew(sh.SI, sh.Shnum, sh.UsedSpace, sh.Type); err != nil {
			return err
		}
	}
	sis := make([]string, len(shares))
	for i, sh := range shares {
		sis[i] = sh.SI.String()
	}
	renewal, expiration := now.Unix(), now.Add(StarterLeaseDuration).Unix()
	for lo := 0; lo < len(shares); lo += bulkRows {
		hi := min(lo+bulkRows, len(shares))
		n := hi - lo
		args := make([]any, 0, 5*n)
		for i := lo; i < hi; i++ {
			args = append(args, sis[i], shares[i].Shnum, sis[i][:2], shares[i].UsedSpace, int(shares[i].Type))
		}
		res, err := tx.exec(ctx, "add discovered shares", bulkShareSQL(n), args...)
		if err != nil {
			return err
		}
		if got, _ := res.RowsAffected(); got != int64(n) {
			return tx.bulkConflict(ctx, shares[lo:hi])
		}
		args = append(args[:0], renewal, expiration)
		for i := lo; i < hi; i++ {
			args = append(args, sis[i], shares[i].Shnum)
		}
		if _, err := tx.exec(ctx, "add discovered shares", bulkLeaseSQL(n), args...); err != nil {
			return err
		}
	}
	return nil
}

// bulkConflict finds a share of batch that was already recorded, or is
// repeated in the batch, for AddDiscoveredShares' error.
func (tx *Tx) bulkConflict(ctx context.Context, batch []Share) error {
	seen := make(map[sharestore.ShareID]bool, len(batch))
	for _, sh := range batch {
		if seen[sh.ID()] {
			return sharestore.Errorf(sharestore.ErrConflict, "leasedb: share %s/%d appears twice in the batch", sh.SI, sh.Shnum)
		}
		seen[sh.ID()] = true
	}
	return sharestore.Errorf(sharestore.ErrConflict, "leasedb: a share of the batch starting at %s/%d is already in the shares table", batch[0].SI, batch[0].Shnum)
}

var bulkSQL sync.Map // string key "s<n>" or "l<n>" → query

func bulkShareSQL(n int) string {
	key := "s" + strconv.Itoa(n)
	if q, ok := bulkSQL.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO `shares` (`storage_index`, `shnum`, `prefix`, `backend_key`, `used_space`, `sharetype`, `state`) VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, NULL, ?, ?, 1)")
	}
	b.WriteString(" ON CONFLICT DO NOTHING")
	bulkSQL.Store(key, b.String())
	return b.String()
}

func bulkLeaseSQL(n int) string {
	key := "l" + strconv.Itoa(n)
	if q, ok := bulkSQL.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO `leases` (`storage_index`, `shnum`, `account_id`, `renewal_time`, `expiration_time`) VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(?%d, ?%d, 1, ?1, ?2)", 3+2*i, 4+2*i)
	}
	b.WriteString(" ON CONFLICT (`storage_index`, `shnum`, `account_id`) DO UPDATE SET" +
		" `renewal_time` = excluded.`renewal_time`, `expiration_time` = excluded.`expiration_time`")
	bulkSQL.Store(key, b.String())
	return b.String()
}
