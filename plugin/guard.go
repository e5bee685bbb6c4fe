package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sharestore/sharestore"
)

// Guarded deletes across the process boundary. A guard reads the host's
// state (its lease database), so it runs on the host; the plugin holds
// the store's own lock of the storage index. The host therefore takes
// its own per-SI lock, asks the plugin for the share's current listing
// information (StatShare), runs its guard on that, and sends what the
// guard saw with the delete. The plugin deletes only if, under its lock,
// the share is still that one (ShareInfo.SameShare); otherwise the
// delete is ErrConflict and the share stays. So a share rewritten in
// the plugin's store between the host's look and the delete survives,
// whoever rewrote it.

// errStatOnly is the refusal of statShare's guard: it makes DeleteShare
// stop before deleting.
var errStatOnly = errors.New("plugin: stat only")

// statShare returns the current listing information of shnum exactly as
// ss.DeleteShare would hand it to a guard, and whether the share exists.
// It asks through DeleteShare with a guard that records what it is given
// and refuses, so nothing is ever deleted, and it needs nothing from the
// backend beyond the Shareset contract (a guard's error aborts the
// delete; a missing share does not call the guard).
func statShare(ctx context.Context, ss sharestore.Shareset, shnum int) (sharestore.ShareInfo, bool, error) {
	var cur sharestore.ShareInfo
	called := false
	err := ss.DeleteShare(ctx, shnum, func(_ context.Context, c sharestore.ShareInfo) error {
		cur, called = c, true
		return errStatOnly
	})
	switch {
	case errors.Is(err, errStatOnly) && called:
		return cur, true, nil
	case err == nil && !called:
		return sharestore.ShareInfo{}, false, nil
	case err == nil:
		// The backend deleted although its guard refused: report it
		// rather than hide it.
		return sharestore.ShareInfo{}, false, sharestore.Errorf(sharestore.ErrInternal, "stat %s/%d: the backend ignored its guard's refusal", ss.StorageIndex(), shnum)
	}
	return sharestore.ShareInfo{}, false, err
}

// expectGuard returns a guard that lets a delete proceed only if the
// share is still expected.
func expectGuard(expected sharestore.ShareInfo) sharestore.Guard {
	return func(_ context.Context, cur sharestore.ShareInfo) error {
		if !expected.SameShare(cur) {
			return sharestore.Errorf(sharestore.ErrConflict, "share %s/%d changed since the host's guard checked it (now %s, checked %s); not deleted",
				cur.SI, cur.Shnum, describe(cur), describe(expected))
		}
		return nil
	}
}

// describe names what identifies a stored share's content.
func describe(i sharestore.ShareInfo) string {
	return fmt.Sprintf("%d bytes, modified %s, version %q", i.Size, i.ModTime.UTC().Format(time.RFC3339Nano), i.Version)
}
