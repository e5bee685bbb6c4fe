package disk

import (
	"context"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/sharestore/sharestore"
)

// CleanIncoming removes leftover incoming uploads and returns the paths
// it removed. Under shares/incoming it removes
//
//   - PutRaw's temporary files (N.put-RANDOM) whose flock is free, at
//     any age: no writer holds them, so theirs died;
//   - other files whose modification time is older than olderThan and
//     that this backend is not writing (Tahoe's N, which a Tahoe server
//     may be writing: it is a maintenance operation for a store that no
//     Tahoe server is using).
//
// It follows no symbolic link and removes none (each is logged), and
// removes the incoming prefix and storage index directories it leaves
// empty, never shares/incoming itself. A read-only or closed backend
// refuses it.
func (b *Backend) CleanIncoming(ctx context.Context, olderThan time.Time) ([]string, error) {
	return b.fs.cleanIncoming(ctx, olderThan)
}

func (b *fsys) cleanIncoming(ctx context.Context, olderThan time.Time) ([]string, error) {
	root, err := b.holdWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer b.release()
	inc, err := b.openPath(root, false, "incoming")
	if err != nil {
		if absent(err) {
			return nil, nil
		}
		return nil, mapErr(err, "disk: list "+pathIn(root, "incoming"))
	}
	defer inc.Close()
	var removed []string
	prefixes, err := dirNames(inc)
	if err != nil {
		return nil, err
	}
	for _, p := range prefixes {
		pd, err := b.openPath(inc, false, p)
		if err != nil {
			if absent(err) {
				continue
			}
			return removed, mapErr(err, "disk: list "+pathIn(inc, p))
		}
		sis, err := dirNames(pd)
		if err != nil {
			pd.Close()
			return removed, err
		}
		for _, si := range sis {
			if err := sharestore.CtxErr(ctx); err != nil {
				pd.Close()
				return removed, err
			}
			d, err := b.openPath(pd, false, si)
			if err != nil {
				if absent(err) {
					continue
				}
				pd.Close()
				return removed, mapErr(err, "disk: list "+pathIn(pd, si))
			}
			names, err := dirNames(d)
			if err == nil {
				removed = append(removed, removeDeadPuts(d, names, func(int) bool { return true })...)
				var old []string
				old, err = b.cleanOld(ctx, d, si, names, olderThan)
				removed = append(removed, old...)
			}
			d.Close()
			if err != nil {
				pd.Close()
				return removed, err
			}
			removeIfEmpty(pd, si)
		}
		pd.Close()
		removeIfEmpty(inc, p)
	}
	return removed, nil
}

// cleanOld removes the regular files in the incoming storage index
// directory d, named si and holding names, that are older than
// olderThan, are not PutRaw temporary files and are not being written by
// this backend.
func (b *fsys) cleanOld(ctx context.Context, d *os.File, si string, names []string, olderThan time.Time) ([]string, error) {
	var removed []string
	for _, n := range names {
		if err := sharestore.CtxErr(ctx); err != nil {
			return removed, err
		}
		if _, ok := parsePutName(n); ok || b.writing(si, n) {
			continue
		}
		st, err := lstatIn(d, n)
		if err != nil {
			continue
		}
		if st.symlink {
			b.warnLink(pathIn(d, n))
			continue
		}
		if !st.regular || !st.modTime.Before(olderThan) {
			continue
		}
		if err := unlinkIn(d, n); err != nil {
			return removed, mapErr(err, "disk: remove "+pathIn(d, n))
		}
		removed = append(removed, pathIn(d, n))
	}
	return removed, nil
}

// writing reports whether this backend is writing the incoming file
// named n of the storage index named si.
func (b *fsys) writing(si, n string) bool {
	sid, err := sharestore.ParseStorageIndex(si)
	if err != nil {
		return false
	}
	shnum, err := strconv.Atoi(n)
	if err != nil {
		return false
	}
	return b.layer.Writing(sid, shnum)
}

// dirNames returns the sorted names in the open directory d, which must
// not have been read before.
func dirNames(d *os.File) ([]string, error) {
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, mapErr(err, "disk: list "+d.Name())
	}
	sort.Strings(names)
	return names, nil
}
