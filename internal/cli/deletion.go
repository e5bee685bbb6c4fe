package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/config"
	"github.com/sharestore/sharestore/internal/statedir"
	"github.com/sharestore/sharestore/internal/units"
	"github.com/sharestore/sharestore/leasedb"
)

// DefaultHoldPercent is crawl's brake: without --max-delete or
// --max-delete-percent, a cycle whose expiration policy would delete more
// than this percentage of the store deletes nothing (config.DefaultHoldPercent).
const DefaultHoldPercent = config.DefaultHoldPercent

// deleteFlags are crawl's flags that bound and allow deletion.
type deleteFlags struct {
	maxDelete         int64
	maxDeletePercent  float64
	allowFutureCutoff bool
	takeOwnership     bool
	set               func(name string) bool
}

func (d *deleteFlags) add(fl *pflag.FlagSet) {
	fl.Int64Var(&d.maxDelete, "max-delete", 0, "delete at most N shares per cycle; the rest wait for a later cycle (default: no count bound, but see --max-delete-percent)")
	fl.Float64Var(&d.maxDeletePercent, "max-delete-percent", 0, fmt.Sprintf("delete at most P%% of the store's shares per cycle (default: a cycle that would delete more than %d%% deletes nothing)", DefaultHoldPercent))
	fl.BoolVar(&d.allowFutureCutoff, "allow-future-cutoff", false, "accept an --expire-cutoff-date in the future (it expires every lease renewed before it, that is, nearly all)")
	fl.BoolVar(&d.takeOwnership, "take-ownership", false, "make this state directory the store's owner even if another one owns it (only the owner deletes)")
	d.set = func(name string) bool { return fl.Changed(name) }
}

// limits returns the crawler's deletion limits for the flags.
func (d *deleteFlags) limits() (crawler.DeleteLimits, error) {
	set := func(name string) bool { return d.set != nil && d.set(name) }
	return config.DeleteLimits(config.FlagKeys, d.maxDelete, set("max-delete"), d.maxDeletePercent, set("max-delete-percent"))
}

// checkCutoff refuses a cutoff date after now unless allowed.
func (d *deleteFlags) checkCutoff(p leasedb.ExpirationPolicy, now time.Time) error {
	return config.CheckCutoff(config.FlagKeys, p, now, d.allowFutureCutoff)
}

// ownership checks, and for a crawl that may delete claims, the store's
// ownership marker. It returns the crawler's MayDelete (which checks the
// marker again at every cycle) and the ownership found.
func (d *deleteFlags) ownership(ctx context.Context, b sharestore.Backend, owner statedir.OwnerCheck, mayClaim bool) (func(context.Context) error, statedir.Ownership, error) {
	first := owner
	first.Claim, first.Take, first.Now = mayClaim, d.takeOwnership && mayClaim, time.Now()
	o, err := statedir.CheckOwner(ctx, b, first)
	if err != nil {
		return nil, o, err
	}
	// A take-over happens once; a backend without markers needs the
	// operator's word at every check.
	again := owner
	again.Claim, again.Take = mayClaim, o.Unchecked
	may := func(ctx context.Context) error {
		again.Now = time.Now()
		o, err := statedir.CheckOwner(ctx, b, again)
		if err != nil {
			return err
		}
		if !o.Owned {
			return errors.New(o.Reason)
		}
		return nil
	}
	return may, o, nil
}

// ownerOf is who may own the store for a crawl: the state directory, or,
// for the workers that share a lease database, that database.
func ownerOf(stateDir, leasedbURL string, shared bool) statedir.OwnerCheck {
	c := statedir.OwnerCheck{StateDir: stateDir}
	if shared {
		c.Owner, c.OwnerName = statedir.SharedOwner(leasedbURL)
	}
	return c
}

// deletionsReport is the part of crawl's report that explains deletion.
type deletionsReport struct {
	Held      string             `json:"deletion-held,omitempty"`
	Owner     string             `json:"owner,omitempty"`
	Deferred  int64              `json:"delete-deferred"`
	Deletions []crawler.Deletion `json:"deletions"`
}

// printDeletions prints, in text, every share the cycle judged to be
// garbage with its reason, grouped by outcome.
func printDeletions(w io.Writer, r *deletionsReport) {
	if r == nil {
		return
	}
	if r.Held != "" {
		fmt.Fprintf(w, "  deletion held: %s\n", r.Held)
	}
	if r.Deferred > 0 {
		fmt.Fprintf(w, "  deletion stopped at the cycle's bound: %d more shares wait for the next cycle\n", r.Deferred)
	}
	for _, d := range r.Deletions {
		fmt.Fprintf(w, "  %s: SI %s shnum %d (%s, %s): %s\n", strings.ReplaceAll(d.Outcome, "-", " "), d.SI, d.Shnum, d.Type, units.Bytes(d.Size), d.Why())
	}
}
