package leasedb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sharestore/sharestore"
)

// Expiration modes, as in Tahoe's [storage]expire.mode.
const (
	ModeAge        = "age"
	ModeCutoffDate = "cutoff-date"
)

// Units of ParseDuration, as in Tahoe's parse_duration: a month is 31 days
// and a year 365 days.
const (
	Day   = 24 * time.Hour
	Month = 31 * Day
	Year  = 365 * Day
)

// ExpirationPolicy says which leases RemoveExpiredLeases removes. It is
// Tahoe's ExpirationPolicy. The zero value is disabled (remove nothing).
type ExpirationPolicy struct {
	// Enabled turns expiration on; when false nothing is removed.
	Enabled bool
	// Mode is ModeAge or ModeCutoffDate. Empty means ModeAge.
	Mode string
	// Override, in ModeAge, makes every lease renewed more than Override
	// ago expired, whatever its expiration time. Zero means no override:
	// leases expire at their own expiration time.
	Override time.Duration
	// CutoffDate, in ModeCutoffDate, makes every lease renewed before it
	// expired. It is required in that mode.
	CutoffDate time.Time
}

func (p ExpirationPolicy) mode() string {
	if p.Mode == "" {
		return ModeAge
	}
	return p.Mode
}

// Validate checks the policy. It returns an error wrapping
// sharestore.ErrInvalidArgument for a mode other than "age" or
// "cutoff-date" (with Tahoe's message, "GC mode 'bogus' must be 'age' or
// 'cutoff-date'"), a negative Override, or a cutoff-date mode without a
// CutoffDate.
func (p ExpirationPolicy) Validate() error {
	switch p.mode() {
	case ModeAge:
		if p.Override < 0 {
			return sharestore.Errorf(sharestore.ErrInvalidArgument, "override lease duration %v must not be negative", p.Override)
		}
	case ModeCutoffDate:
		if p.CutoffDate.IsZero() {
			return sharestore.Errorf(sharestore.ErrInvalidArgument, "GC mode 'cutoff-date' needs a cutoff date (expire.cutoff_date)")
		}
	default:
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "GC mode '%s' must be 'age' or 'cutoff-date'", p.Mode)
	}
	return nil
}

// NewExpirationPolicy builds a policy from the raw values of Tahoe's
// [storage] options expire.enabled, expire.mode,
// expire.override_lease_duration and expire.cutoff_date; pass "" for an
// option that is not set. As in Tahoe, a mode is required when expiration
// is enabled and defaults to "age" otherwise; the override is parsed with
// ParseDuration and the date with ParseDate. Errors wrap
// sharestore.ErrInvalidArgument and name the bad option.
func NewExpirationPolicy(enabled bool, mode, overrideLeaseDuration, cutoffDate string) (ExpirationPolicy, error) {
	p := ExpirationPolicy{Enabled: enabled, Mode: mode}
	if mode == "" {
		if enabled {
			return p, sharestore.Errorf(sharestore.ErrInvalidArgument, "expire.mode is required when expire.enabled is true: set it to 'age' or 'cutoff-date'")
		}
		p.Mode = ModeAge
	}
	if overrideLeaseDuration != "" {
		d, err := ParseDuration(overrideLeaseDuration)
		if err != nil {
			return p, sharestore.Errorf(sharestore.ErrInvalidArgument, "expire.override_lease_duration: %v", err)
		}
		if d <= 0 {
			return p, sharestore.Errorf(sharestore.ErrInvalidArgument, "expire.override_lease_duration: '%s' must be positive", overrideLeaseDuration)
		}
		p.Override = d
	}
	if cutoffDate != "" {
		t, err := ParseDate(cutoffDate)
		if err != nil {
			return p, sharestore.Errorf(sharestore.ErrInvalidArgument, "expire.cutoff_date: %v", err)
		}
		p.CutoffDate = t
	}
	return p, p.Validate()
}

// ParseDuration parses a duration the way Tahoe's parse_duration does: a
// whole number, optional spaces, and a unit "day", "month", "mo" or "year",
// each optionally followed by "s" ("7days", "31day", "60 days", "2mo",
// "3 month", "2years"). A month is 31 days and a year 365 days. Anything
// else fails with an error wrapping sharestore.ErrInvalidArgument, such as
// "no unit (like day, month, or year) in '2kumquats'".
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimSuffix(s, "s")
	var unit time.Duration
	switch {
	case strings.HasSuffix(s, "day"):
		unit, s = Day, strings.TrimSuffix(s, "day")
	case strings.HasSuffix(s, "month"):
		unit, s = Month, strings.TrimSuffix(s, "month")
	case strings.HasSuffix(s, "mo"):
		unit, s = Month, strings.TrimSuffix(s, "mo")
	case strings.HasSuffix(s, "year"):
		unit, s = Year, strings.TrimSuffix(s, "year")
	default:
		return 0, sharestore.Errorf(sharestore.ErrInvalidArgument, "no unit (like day, month, or year) in '%s'", orig)
	}
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || s[0] == '+' {
		return 0, sharestore.Errorf(sharestore.ErrInvalidArgument, "no whole number of days, months or years in '%s'", orig)
	}
	if n > int64(1<<63-1)/int64(unit) {
		return 0, sharestore.Errorf(sharestore.ErrInvalidArgument, "duration '%s' is too long", orig)
	}
	return time.Duration(n) * unit, nil
}

// ParseDate parses a YYYY-MM-DD date as midnight UTC at its start, as
// Tahoe's parse_date does: "2009-03-18" gives 1237334400 seconds since the
// epoch. Anything else fails with an error wrapping
// sharestore.ErrInvalidArgument.
func ParseDate(s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(s), time.UTC)
	if err != nil {
		return time.Time{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "invalid date '%s': want YYYY-MM-DD", s)
	}
	return t, nil
}

// DescribeEnabled returns Tahoe's describe_enabled text.
func (p ExpirationPolicy) DescribeEnabled() string {
	if p.Enabled {
		return "Enabled: expired leases will be removed"
	}
	return "Disabled: scan-only mode, no leases will be removed"
}

// DescribeExpiration returns Tahoe's describe_expiration text, for example
// "Leases created or last renewed more than 33 minutes ago will be
// considered expired." for an age override of 2000 s.
func (p ExpirationPolicy) DescribeExpiration() string {
	if p.mode() == ModeAge {
		if p.Override <= 0 {
			return "Leases will expire naturally, probably 31 days after creation or renewal."
		}
		return fmt.Sprintf("Leases created or last renewed more than %s ago will be considered expired.", AbbreviateTime(p.Override))
	}
	d := p.CutoffDate.UTC()
	return fmt.Sprintf("Leases created or last renewed before %s (%s) UTC will be considered expired.",
		d.Format("2006-01-02"), d.Format("02-Jan-2006"))
}

// AbbreviateTime renders a duration the way Tahoe's storage status page
// does: whole seconds below 2 minutes, minutes below 3 hours, hours below 2
// days, days below 2 months, months (31 days) below 2 years, then years;
// for example "33 minutes" or "1 second".
func AbbreviateTime(d time.Duration) string {
	s := d.Seconds()
	plural := func(count float64, unit string) string {
		n := int64(count)
		if n == 1 {
			return fmt.Sprintf("%d %s", n, unit)
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case s < 120:
		return plural(s, "second")
	case s < 3*3600:
		return plural(s/60, "minute")
	case s < 2*86400:
		return plural(s/3600, "hour")
	case s < 2*31*86400:
		return plural(s/86400, "day")
	case s < 2*365*86400:
		return plural(s/(31*86400), "month")
	}
	return plural(s/(365*86400), "year")
}

// RemoveExpiredLeases deletes, in one statement, the leases that policy
// makes expired at now, and returns how many it deleted:
//
//   - disabled: none;
//   - age without override: expiration_time < now (NULL never expires);
//   - age with override: renewal_time < now − Override;
//   - cutoff-date: renewal_time < CutoffDate.
//
// Starter leases follow the same rule. An invalid policy fails with
// sharestore.ErrInvalidArgument and deletes nothing.
func (tx *Tx) RemoveExpiredLeases(ctx context.Context, p ExpirationPolicy, now time.Time) (int64, error) {
	return tx.removeExpired(ctx, p, now, "", nil)
}

// RemoveExpiredLeasesOf is RemoveExpiredLeases for the leases of one
// share only.
func (tx *Tx) RemoveExpiredLeasesOf(ctx context.Context, si sharestore.StorageIndex, shnum int, p ExpirationPolicy, now time.Time) (int64, error) {
	return tx.removeExpired(ctx, p, now, "`storage_index` = ? AND `shnum` = ? AND ", []any{si.String(), shnum})
}

// removeExpired deletes the leases p makes expired at now among those
// that match the condition where (empty, or ending in AND) with args.
func (tx *Tx) removeExpired(ctx context.Context, p ExpirationPolicy, now time.Time, where string, args []any) (int64, error) {
	if err := tx.checkWritable("remove expired leases"); err != nil {
		return 0, err
	}
	if err := p.Validate(); err != nil {
		return 0, err
	}
	if !p.Enabled {
		return 0, nil
	}
	cond, cutoff := p.expiredClause(now)
	res, err := tx.exec(ctx, "remove expired leases", "DELETE FROM `leases` WHERE "+where+cond, append(args, cutoff)...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// expiredClause is the SQL condition on a `leases` row that p makes
// expired at now, with its one argument. p must be enabled and valid.
func (p ExpirationPolicy) expiredClause(now time.Time) (string, int64) {
	switch {
	case p.mode() == ModeCutoffDate:
		return "`renewal_time` < ?", p.CutoffDate.Unix()
	case p.Override > 0:
		return "`renewal_time` < ?", now.Add(-p.Override).Unix()
	}
	return "`expiration_time` IS NOT NULL AND `expiration_time` < ?", now.Unix()
}

// Expired reports whether RemoveExpiredLeases(p, now) would remove l. A
// disabled or invalid policy expires nothing.
func (p ExpirationPolicy) Expired(l Lease, now time.Time) bool {
	if !p.Enabled || p.Validate() != nil {
		return false
	}
	switch {
	case p.mode() == ModeCutoffDate:
		return l.Renewal.Unix() < p.CutoffDate.Unix()
	case p.Override > 0:
		return l.Renewal.Unix() < now.Add(-p.Override).Unix()
	}
	return !l.Expiration.IsZero() && l.Expiration.Unix() < now.Unix()
}

// ExpiresAt returns when p starts to expire l: Expired(l, now) is true
// exactly when never is false and now is not before at. never is true
// when p never expires l: p is disabled or invalid, l has no expiration
// time (age mode without Override), or l was renewed on or after the
// cutoff date. A lease renewed before the cutoff date is expired at
// every time, and at is then the zero Time.
func (p ExpirationPolicy) ExpiresAt(l Lease) (at time.Time, never bool) {
	if !p.Enabled || p.Validate() != nil {
		return time.Time{}, true
	}
	switch {
	case p.mode() == ModeCutoffDate:
		if l.Renewal.Unix() < p.CutoffDate.Unix() {
			return time.Time{}, false
		}
		return time.Time{}, true
	case p.Override > 0:
		// Renewal's second < (now − Override)'s second.
		return time.Unix(l.Renewal.Unix()+1, 0).Add(p.Override), false
	case l.Expiration.IsZero():
		return time.Time{}, true
	}
	return time.Unix(l.Expiration.Unix()+1, 0), false
}

// CheckExpireTypeOptions checks the raw values of Tahoe's obsolete
// [storage] options expire.immutable and expire.mutable (pass "" for an
// option that is not set). Per-type expiration was removed from the
// leasedb design, so, as in Tahoe, setting either to false is an error
// (wrapping sharestore.ErrInvalidArgument); true or unset is accepted. A
// value that is not a boolean (true/false, yes/no, on/off, 1/0) is an
// error too.
func CheckExpireTypeOptions(immutable, mutable string) error {
	for _, o := range []struct{ name, value string }{{"expire.immutable", immutable}, {"expire.mutable", mutable}} {
		if o.value == "" {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(o.value)) {
		case "true", "yes", "on", "1":
		case "false", "no", "off", "0":
			return sharestore.Errorf(sharestore.ErrInvalidArgument,
				"[storage]%s = %s is no longer supported: leases now expire the same way for mutable and immutable shares; remove the option", o.name, o.value)
		default:
			return sharestore.Errorf(sharestore.ErrInvalidArgument, "[storage]%s = '%s' is not a boolean", o.name, o.value)
		}
	}
	return nil
}
