package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/leasedb"
)

// DefaultHoldPercent is the deletion brake: without a max-delete or
// max-delete-percent bound, a cycle whose expiration policy would delete
// more than this percentage of the store deletes nothing.
const DefaultHoldPercent = 10

// Keys names each setting that Check, Policy, DeleteLimits and
// CheckCutoff validate the way its source spells it, so that an error
// names what the user typed: FlagKeys for crawl's flags, TOMLKeys for a
// configuration file.
type Keys struct {
	Crawler, RateLimit, PrefixesInFlight           string
	ExpireMode, ExpireOverride, ExpireCutoff       string
	MaxDelete, MaxDeletePercent, AllowFutureCutoff string
	DryRun                                         string
	LogFormat, LogLevel, Listen, Schedule, Backend string
	LeaseDB, ClaimLease, Worker                    string
}

// FlagKeys are the names of the settings as command-line flags.
var FlagKeys = Keys{
	Crawler: "--crawler", RateLimit: "--rate-limit", PrefixesInFlight: "--prefixes-in-flight",
	ExpireMode: "--expire-mode", ExpireOverride: "--expire-override", ExpireCutoff: "--expire-cutoff-date",
	MaxDelete: "--max-delete", MaxDeletePercent: "--max-delete-percent", AllowFutureCutoff: "--allow-future-cutoff", DryRun: "--dry-run",
	LogFormat: "--log-format", LogLevel: "--log-level", Listen: "--listen", Schedule: "schedule",
	Backend: "--backend", LeaseDB: "--leasedb", ClaimLease: "--claim-lease", Worker: "--worker",
}

// TOMLKeys are the names of the settings in a configuration file read by
// Load: "table.key".
var TOMLKeys = Keys{
	Crawler: "crawl.crawler", RateLimit: "crawl.rate_limit", PrefixesInFlight: "crawl.prefixes_in_flight",
	ExpireMode: "expire.mode", ExpireOverride: "expire.override", ExpireCutoff: "expire.cutoff_date",
	MaxDelete: "delete.max_delete", MaxDeletePercent: "delete.max_delete_percent", AllowFutureCutoff: "delete.allow_future_cutoff", DryRun: "crawl.dry_run",
	LogFormat: "log.format", LogLevel: "log.level", Listen: "http.listen", Schedule: "schedule",
	Backend: "backend.url", LeaseDB: "crawl.leasedb", ClaimLease: "crawl.claim_lease", Worker: "crawl.worker",
}

// CheckLeaseDB validates the lease database's URL, named by k: empty
// (the SQLite file in the state directory), sqlite:PATH with a path, or
// a postgres:// or postgresql:// URL.
func CheckLeaseDB(k Keys, u string) error {
	switch {
	case u == "":
		return nil
	case strings.HasPrefix(u, "sqlite:"):
		if strings.TrimPrefix(u, "sqlite:") == "" {
			return fmt.Errorf("%s %q: sqlite: needs the path of the database file", k.LeaseDB, u)
		}
		return nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if _, err := url.Parse(u); err != nil {
			return fmt.Errorf("%s: not a PostgreSQL URL: %v", k.LeaseDB, redactedErr(err))
		}
		return nil
	}
	return fmt.Errorf("%s %q: want sqlite:PATH or postgres://USER@HOST/DATABASE", k.LeaseDB, leasedb.RedactURL(u))
}

// DefaultClaimLease is a shared cycle's claim lease unless set.
// MinClaimLease and MaxClaimLease bound it (CheckSharing): a shorter
// claim would run out between two renewals of a busy worker, and a
// longer one holds up a dead worker's prefixes for more than a day.
const (
	DefaultClaimLease = 2 * time.Minute
	MinClaimLease     = time.Second
	MaxClaimLease     = 24 * time.Hour
)

// CheckSharing validates the settings of a worker of shared cycles,
// named by k: the claim lease (0 is the default, or MinClaimLease to
// MaxClaimLease) and the worker's name (empty is the default; at most
// 200 bytes of printable text, as it is stored in every claim and shown
// in logs).
func CheckSharing(k Keys, claimLease time.Duration, worker string) error {
	if claimLease != 0 && (claimLease < MinClaimLease || claimLease > MaxClaimLease) {
		return fmt.Errorf("%s %v: want %v to %v (0: the default, %v)", k.ClaimLease, claimLease, MinClaimLease, MaxClaimLease, DefaultClaimLease)
	}
	if len(worker) > 200 {
		return fmt.Errorf("%s: %d bytes: want at most 200", k.Worker, len(worker))
	}
	for _, r := range worker {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%s %q: want printable text, without control characters", k.Worker, worker)
		}
	}
	return nil
}

// LeaseDBPassword reports whether the lease database's URL carries a
// password (in its user part or as a password parameter).
func LeaseDBPassword(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return strings.Contains(u, "password")
	}
	_, has := p.User.Password()
	return has || p.Query().Has("password")
}

// redactedErr is a url.Parse error without the URL it quotes.
func redactedErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// CheckCrawl validates the crawler selection, the rate limit (requests
// per second, 0 or more, 0 meaning unlimited) and the prefixes in flight
// (1 to 256), naming each by k.
func CheckCrawl(k Keys, which string, rateLimit float64, inFlight int) error {
	if which != "all" && which != "accounting" && which != "buckets" {
		return fmt.Errorf("%s %q: want accounting, buckets or all", k.Crawler, which)
	}
	if rateLimit < 0 || math.IsNaN(rateLimit) || math.IsInf(rateLimit, 0) {
		return fmt.Errorf("%s %v: want a number of requests per second, 0 or more (0: unlimited)", k.RateLimit, rateLimit)
	}
	if inFlight < 1 || inFlight > 256 {
		return fmt.Errorf("%s %d: want 1 to 256", k.PrefixesInFlight, inFlight)
	}
	return nil
}

// durationProblem says what is wrong with the duration s, which
// leasedb.ParseDuration refused with err. That error is Tahoe's text, kept
// for values from a tahoe.cfg; it says "no unit" of '1week' too, so a
// unit Tahoe does not know is named here.
func durationProblem(s string, err error) string {
	unit := strings.TrimLeft(strings.TrimSpace(s), "0123456789 +-.")
	if unit != "" && strings.HasPrefix(err.Error(), "no unit") {
		return fmt.Sprintf("unknown unit '%s' in '%s' (want day, month, mo or year, as in 7days)", unit, s)
	}
	return err.Error()
}

// Policy builds the expiration policy of crawl's form: expiration is off
// unless mode is given ("age" or "cutoff-date"); override (a Tahoe
// duration such as 60days) goes with age only, cutoff (YYYY-MM-DD) with
// cutoff-date, which needs it. Errors name the settings by k.
func Policy(k Keys, mode, override, cutoff string) (leasedb.ExpirationPolicy, error) {
	if mode == "" {
		if override != "" || cutoff != "" {
			return leasedb.ExpirationPolicy{}, fmt.Errorf("%s and %s need %s", k.ExpireOverride, k.ExpireCutoff, k.ExpireMode)
		}
		return leasedb.ExpirationPolicy{}, nil
	}
	if mode == leasedb.ModeAge && cutoff != "" {
		return leasedb.ExpirationPolicy{}, fmt.Errorf("%s needs %s cutoff-date", k.ExpireCutoff, k.ExpireMode)
	}
	if mode == leasedb.ModeCutoffDate && override != "" {
		return leasedb.ExpirationPolicy{}, fmt.Errorf("%s needs %s age", k.ExpireOverride, k.ExpireMode)
	}
	// The values are parsed here first so that an error names the key
	// the user typed; leasedb's messages name Tahoe's keys.
	switch mode {
	case leasedb.ModeAge, leasedb.ModeCutoffDate:
	default:
		return leasedb.ExpirationPolicy{}, fmt.Errorf("%s %q: want age or cutoff-date", k.ExpireMode, mode)
	}
	if override != "" {
		d, err := leasedb.ParseDuration(override)
		if err != nil {
			return leasedb.ExpirationPolicy{}, fmt.Errorf("%s: %s", k.ExpireOverride, durationProblem(override, err))
		}
		if d <= 0 {
			return leasedb.ExpirationPolicy{}, fmt.Errorf("%s %q: must be longer than 0 days", k.ExpireOverride, override)
		}
	}
	if cutoff != "" {
		if _, err := leasedb.ParseDate(cutoff); err != nil {
			return leasedb.ExpirationPolicy{}, fmt.Errorf("%s: %v", k.ExpireCutoff, err)
		}
	}
	if mode == leasedb.ModeCutoffDate && cutoff == "" {
		return leasedb.ExpirationPolicy{}, fmt.Errorf("%s cutoff-date needs %s YYYY-MM-DD", k.ExpireMode, k.ExpireCutoff)
	}
	return leasedb.NewExpirationPolicy(true, mode, override, cutoff)
}

// CheckCutoff refuses a cutoff date after now unless allowFuture.
func CheckCutoff(k Keys, p leasedb.ExpirationPolicy, now time.Time, allowFuture bool) error {
	if p.Enabled && p.Mode == leasedb.ModeCutoffDate && p.CutoffDate.After(now) && !allowFuture {
		return fmt.Errorf("%s %s is in the future: every lease renewed before it would expire, which is nearly every lease; check the year, or pass %s", k.ExpireCutoff, p.CutoffDate.Format("2006-01-02"), k.AllowFutureCutoff)
	}
	return nil
}

// DeleteLimits returns the crawler's deletion limits: at most maxDelete
// shares (when maxDeleteSet; then 1 or more) and at most
// maxDeletePercent of the store (when maxDeletePercentSet; then more than
// 0 and at most 100) per cycle. Without either, a cycle that would delete
// more than DefaultHoldPercent deletes nothing.
func DeleteLimits(k Keys, maxDelete int64, maxDeleteSet bool, maxDeletePercent float64, maxDeletePercentSet bool) (crawler.DeleteLimits, error) {
	if maxDeleteSet && maxDelete < 1 {
		return crawler.DeleteLimits{}, fmt.Errorf("%s %d: want 1 or more (use %s to delete nothing)", k.MaxDelete, maxDelete, k.DryRun)
	}
	if maxDeletePercentSet && (maxDeletePercent <= 0 || maxDeletePercent > 100 || math.IsNaN(maxDeletePercent)) {
		return crawler.DeleteLimits{}, fmt.Errorf("%s %g: want more than 0 and at most 100", k.MaxDeletePercent, maxDeletePercent)
	}
	l := crawler.DeleteLimits{MaxShares: maxDelete, MaxPercent: maxDeletePercent}
	if l.MaxShares == 0 && l.MaxPercent == 0 {
		l.HoldAbovePercent = DefaultHoldPercent
	}
	return l, nil
}
