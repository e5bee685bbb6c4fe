package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sharestore/sharestore"
)

// checkCopyOverlap refuses, as bad usage, a copy whose destination is its
// source or lies inside it: writing there would change the very listing
// being copied (a disk store copied into its own shares/ directory, or a
// bucket's key prefix into a longer one under it). srcID and dstID are
// the backends' identities (backendIdentity); a disk store's is its
// directory, compared after symbolic links are resolved, so another
// spelling of the same directory is caught too.
func checkCopyOverlap(src, dst sharestore.Backend, srcID, dstID string) error {
	if s, ok := sharestore.LocalRoot(src); ok {
		d, ok := sharestore.LocalRoot(dst)
		if !ok {
			return nil
		}
		s, d = realPath(s), realPath(d)
		if rel, err := filepath.Rel(s, d); err == nil && (rel == "." || filepath.IsLocal(rel)) {
			return overlapErr(s, d, rel == ".")
		}
		return nil
	}
	if inside, same := urlInside(srcID, dstID); inside {
		return overlapErr(srcID, dstID, same)
	}
	return nil
}

func overlapErr(src, dst string, same bool) error {
	if same {
		return usageErr(fmt.Errorf("copy: --to %s is the --from store itself; give another destination", dst))
	}
	return usageErr(fmt.Errorf("copy: --to %s is inside the --from store %s; give a destination outside it", dst, src))
}

// checkDiskOverlap is checkCopyOverlap for two disk stores opened in
// process, from their specs, before either is opened: opening the
// destination creates it, which must not happen inside the source.
func checkDiskOverlap(from, to string) error {
	s, ok1 := diskSpecPath(from)
	d, ok2 := diskSpecPath(to)
	if !ok1 || !ok2 {
		return nil
	}
	s, d = realPath(s), realPath(d)
	if rel, err := filepath.Rel(s, d); err == nil && (rel == "." || filepath.IsLocal(rel)) {
		return overlapErr(s, d, rel == ".")
	}
	return nil
}

// diskSpecPath is the absolute directory of a disk:PATH or file:PATH
// spec, as openBackend reads it.
func diskSpecPath(spec string) (string, bool) {
	scheme, rest, ok := strings.Cut(spec, ":")
	if !ok || (scheme != "disk" && scheme != "file") {
		return "", false
	}
	rest = strings.TrimPrefix(rest, "//")
	abs, err := filepath.Abs(rest)
	return abs, err == nil && rest != ""
}

// realPath is path with its symbolic links resolved. Of a path that does
// not exist yet (a destination), the longest part that exists is
// resolved and the rest appended.
func realPath(path string) string {
	path = filepath.Clean(path)
	var tail []string
	for {
		if p, err := filepath.EvalSymlinks(path); err == nil {
			return filepath.Join(append([]string{p}, tail...)...)
		}
		parent := filepath.Dir(path)
		if parent == path {
			return filepath.Join(append([]string{path}, tail...)...)
		}
		tail = append([]string{filepath.Base(path)}, tail...)
		path = parent
	}
}

// urlInside reports whether the identity dst names the same store as src
// (same), or a key prefix inside it: the same scheme, bucket, naming
// query and plugin options, and a path equal to src's or under it at a
// "/".
func urlInside(src, dst string) (inside, same bool) {
	sBase, sRest := splitIdentity(src)
	dBase, dRest := splitIdentity(dst)
	if sRest != dRest {
		return false, false
	}
	sBase, dBase = strings.TrimSuffix(sBase, "/"), strings.TrimSuffix(dBase, "/")
	if sBase == dBase {
		return true, true
	}
	return strings.HasPrefix(dBase, sBase+"/"), false
}

// splitIdentity splits an identity into its scheme, bucket and key
// prefix, and the rest: its query and its plugin options.
func splitIdentity(id string) (base, rest string) {
	i := strings.IndexAny(id, "? ")
	if i < 0 {
		return id, ""
	}
	return id[:i], id[i:]
}
