package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/leasedb"
)

// openLsLeasedb opens the lease database of the crawl state directory dir
// (or the one leasedbFlag names) for ls --state-dir, after checking that
// dir belongs to the backend b opened from spec (its backend file, see
// backendIdentity): another store's lease counts would be wrong beside
// these shares. Nothing in dir is created or changed.
func openLsLeasedb(ctx context.Context, dir, leasedbFlag string, b sharestore.Backend, spec string, pf *pluginFlags) (*leasedb.DB, error) {
	if err := checkStateDir(dir); err != nil {
		return nil, err
	}
	recorded, err := os.ReadFile(filepath.Join(dir, backendIDFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageErr(fmt.Errorf("--state-dir %s is not a crawl state directory (it has no %s file); run \"sharestore crawl\" on this backend first", dir, backendIDFile))
	}
	if err != nil {
		return nil, fmt.Errorf("--state-dir %s: %w", dir, err)
	}
	var options map[string]string
	if pf.path != "" {
		set, err := pf.settings()
		if err != nil {
			return nil, err
		}
		options = set.options
	}
	id, legacy := backendIdentity(b, spec, options)
	if got := strings.TrimSpace(string(recorded)); got != id && (legacy == "" || got != legacy) {
		return nil, usageErr(fmt.Errorf("--state-dir %s belongs to backend %s, not %s", dir, got, id))
	}
	if leasedbFlag != "" {
		return leasedb.OpenURL(ctx, leasedbFlag, leasedb.Options{})
	}
	path := filepath.Join(dir, leasedbFile)
	if _, err := os.Stat(path); err != nil {
		return nil, usageErr(fmt.Errorf("--state-dir %s has no lease database (%s): %w", dir, leasedbFile, err))
	}
	return leasedb.Open(ctx, path, leasedb.Options{})
}

// leasedbCounts returns the number of leases of each share of prefix p in
// db, or nil when db is nil. A share with none is absent.
func leasedbCounts(ctx context.Context, db *leasedb.DB, p sharestore.Prefix) (map[sharestore.ShareID]int, error) {
	if db == nil {
		return nil, nil
	}
	leases, err := db.LeasesForPrefix(ctx, p)
	if err != nil {
		return nil, err
	}
	counts := make(map[sharestore.ShareID]int, len(leases))
	for _, l := range leases {
		counts[l.ID()]++
	}
	return counts, nil
}

// corruptReason is what ls says about why share id is corrupt: the
// backend's message for err, without the backend's name and the share's,
// which ls prints beside it.
func corruptReason(id sharestore.ShareID, err error) string {
	msg := err.Error()
	name := fmt.Sprintf("%s/%d: ", id.SI, id.Shnum)
	if i := strings.Index(msg, name); i >= 0 {
		msg = msg[i+len(name):]
	}
	return msg
}
