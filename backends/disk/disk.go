// Package disk is the local-filesystem backend: Tahoe-LAFS's own storage
// directory layout,
//
//	ROOT/shares/PP/SI/N             completed shares
//	ROOT/shares/incoming/PP/SI/N    immutable uploads in progress
//
// where ROOT is the storage directory (the one that contains shares/), PP
// the two-character prefix of the storage index SI, and N the decimal share
// number. Existing Tahoe storage directories are read as they are.
//
// The backend never removes anything it did not create or was not asked
// to delete: opening, listing and crawling leave incoming/ alone, because a
// running Tahoe server may own it. Leftover uploads are removed only by
// CleanIncoming, and by PutRaw for its own leftovers (below).
//
// # Confinement
//
// Nothing outside the storage directory is ever read, written, listed or
// deleted through a symbolic link inside it. The backend holds shares/
// open and reaches every file from it one path component at a time,
// relative to the open parent directory, without following a symbolic
// link at any level: shares/ itself (Open refuses a symlinked shares/),
// the prefix directory PP, the storage index directory, the share file,
// and incoming/ with everything below it. On Unix this is openat with
// O_NOFOLLOW (and O_DIRECTORY), fstatat with AT_SYMLINK_NOFOLLOW, and
// unlinkat, mkdirat and renameat relative to the directory that holds
// the name; elsewhere (Windows) each component is Lstat-ed and a link or
// reparse point refused, a best effort that a link swapped in between
// the check and the use can defeat.
//
// A symbolic link where the backend would go through it is skipped with
// a warning that names it (Options.Logger): listing a prefix whose
// directory is a link yields nothing for that prefix, a link as a
// storage index directory or share file is not listed, counted or read
// (Share and reads report ErrNotFound), and nothing reached through a
// link is deleted. A write or delete that would go through one fails
// with ErrPermissionDenied naming the link, and writes nothing.
//
// # Raw puts
//
// PutRaw (used by copy) writes to its own temporary file,
// shares/incoming/PP/SI/N.put-RANDOM, a name Tahoe never uses, and holds
// an exclusive flock on it until it is renamed over shares/PP/SI/N. A
// PutRaw of share N first removes the N.put-* files whose flock it can
// take: their writer died (a copy killed mid-share), so a rerun resumes
// without help. A file whose writer is alive, and Tahoe's own
// incoming/PP/SI/N, are never removed by PutRaw.
package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
	"github.com/sharestore/sharestore/share"
)

// Version is the disk backend's implementation version.
const Version = "1.0.0"

// Options configure a disk backend.
type Options struct {
	// NodeID is recorded in new mutable containers next to the write
	// enabler. The zero value is allowed.
	NodeID sharestore.NodeID
	// ReservedSpace is subtracted from the free space the file system
	// reports.
	ReservedSpace int64
	// ReadOnly makes every mutation fail with ErrPermissionDenied and
	// AvailableSpace report 0.
	ReadOnly bool
	// Create makes Open create ROOT and ROOT/shares when they are
	// missing. Without it, a directory without shares/ is refused.
	Create bool
	// ContainerVersion is the version of new containers, 1 or 2. Zero
	// means 1, which every Tahoe release reads.
	ContainerVersion int
	// Logger receives warnings, such as a symbolic link skipped inside
	// the storage directory. Nil means slog.Default() at the time of
	// the warning.
	Logger *slog.Logger
}

// Backend is a share store in a Tahoe storage directory. It is safe for
// concurrent use. The contract is the shared layer's (driver.Backend,
// embedded); the files are this package's.
type Backend struct {
	*driver.Backend
	fs *fsys
}

// fsys is the disk driver under the shared layer: Tahoe's layout,
// reached without following a symbolic link.
type fsys struct {
	root   string
	shares string
	opts   Options
	layer  *driver.Backend

	mu     sync.Mutex
	closed bool
	dir    *os.File // shares/, open until Close and the last release
	refs   int      // holds of dir, plus one until Close
}

// logger is where warnings go.
func (b *fsys) logger() *slog.Logger {
	if b.opts.Logger != nil {
		return b.opts.Logger
	}
	return slog.Default()
}

var _ sharestore.Backend = (*Backend)(nil)

// Open opens the storage directory root: the directory that contains
// shares/. A missing root, a root that is not a directory, or (without
// Options.Create) a root with no shares/ directory is an error wrapping
// ErrNotFound or ErrInvalidArgument that names the path.
func Open(root string, opts Options) (*Backend, error) {
	if opts.ContainerVersion == 0 {
		opts.ContainerVersion = 1
	}
	if opts.ContainerVersion != 1 && opts.ContainerVersion != 2 {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: container version %d: must be 1 or 2", opts.ContainerVersion)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: storage directory %q: %w", root, err)
	}
	if st, err := os.Stat(abs); err == nil && !st.IsDir() {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: storage directory %s is a file, not a directory", abs)
	}
	if opts.Create && !opts.ReadOnly {
		if err := os.MkdirAll(abs, 0o755); errors.Is(err, syscall.ENOTDIR) {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: cannot create storage directory %s: a parent of it is a file, not a directory", abs)
		} else if err != nil {
			return nil, mapErr(err, "disk: create "+abs)
		}
	}
	if _, err := os.Stat(abs); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, sharestore.Errorf(sharestore.ErrNotFound, "disk: storage directory %s does not exist", abs)
		}
		return nil, mapErr(err, "disk: storage directory "+abs)
	}
	rd, err := os.Open(abs)
	if err != nil {
		return nil, mapErr(err, "disk: storage directory "+abs)
	}
	defer rd.Close()
	dir, err := openShares(rd, opts.Create && !opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	fs := &fsys{root: abs, shares: dir.Name(), opts: opts, dir: dir, refs: 1}
	layer, err := driver.New(fs, driver.Options{Name: "disk", ReadOnly: opts.ReadOnly})
	if err != nil {
		dir.Close()
		return nil, err
	}
	fs.layer = layer
	return &Backend{Backend: layer, fs: fs}, nil
}

// openShares opens shares/ in the storage directory rd, without
// following a symbolic link, creating it if create is set and it is
// missing.
func openShares(rd *os.File, create bool) (*os.File, error) {
	abs, shares := rd.Name(), pathIn(rd, "shares")
	dir, err := openDirIn(rd, "shares")
	if create && errors.Is(err, fs.ErrNotExist) {
		if err = mkdirIn(rd, "shares"); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, mapErr(err, "disk: create "+shares)
		}
		dir, err = openDirIn(rd, "shares")
	}
	switch {
	case err == nil:
		return dir, nil
	case isSymlink(err):
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: %s is a symbolic link, and the disk backend follows no symbolic link inside the storage directory: make shares/ a real directory (a bind mount works)", shares)
	case isNotDir(err):
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: %s is not a directory, so %s is not a Tahoe storage directory", shares, abs)
	case errors.Is(err, fs.ErrNotExist):
		hint := ""
		if st, err := os.Stat(filepath.Join(abs, "storage", "shares")); err == nil && st.IsDir() {
			hint = fmt.Sprintf(" (did you mean %s?)", filepath.Join(abs, "storage"))
		}
		return nil, sharestore.Errorf(sharestore.ErrNotFound, "disk: %s is not a Tahoe storage directory: it has no shares/ folder%s", abs, hint)
	}
	return nil, mapErr(err, "disk: "+shares)
}

// Root returns the absolute path of the storage directory.
func (b *Backend) Root() string { return b.fs.root }

// mapErr classifies a file-system error into the vocabulary, keeping it as
// the cause.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	code := sharestore.ErrInternal
	switch {
	case isSymlink(err):
		code = sharestore.ErrPermissionDenied
	case errors.Is(err, fs.ErrNotExist):
		code = sharestore.ErrNotFound
	case errors.Is(err, fs.ErrPermission):
		code = sharestore.ErrPermissionDenied
	case errors.Is(err, fs.ErrExist):
		code = sharestore.ErrConflict
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		code = sharestore.ErrOutOfRange
	case errors.Is(err, syscall.EIO):
		code = sharestore.ErrUnavailable
	case errors.Is(err, errors.ErrUnsupported):
		code = sharestore.ErrUnimplemented
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// The message names the thing; the path is already in what.
		err = fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return sharestore.Wrap(code, err, what)
}

// sharesetsIn returns the sorted storage indexes among the entries of
// p's open directory pd: directories with a storage index's canonical
// name. A symbolic link with such a name is skipped with a warning.
func (b *fsys) sharesetsIn(pd *os.File, p sharestore.Prefix, ents []fs.DirEntry) []sharestore.StorageIndex {
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	out := make([]sharestore.StorageIndex, 0, len(ents))
	for _, e := range ents {
		n := e.Name()
		if len(n) != sharestore.StorageIndexTextSize || n[:2] != string(p) {
			continue // stray names
		}
		si, err := sharestore.ParseStorageIndex(n)
		if err != nil {
			continue
		}
		if e.Type()&fs.ModeSymlink != 0 {
			b.warnLink(pathIn(pd, n))
			continue
		}
		if !e.IsDir() {
			continue // a file named like a storage index
		}
		out = append(out, si)
	}
	return out
}

// openPrefix opens p's directory and reads its entries. A missing
// directory, a file in its place or a symbolic link (logged) gives nil
// and no entries.
func (b *fsys) openPrefix(root *os.File, p sharestore.Prefix) (*os.File, []fs.DirEntry, error) {
	pd, err := b.openPath(root, false, string(p))
	if err != nil {
		if absent(err) {
			return nil, nil, nil
		}
		return nil, nil, mapErr(err, "disk: list "+filepath.Join(b.shares, string(p)))
	}
	ents, err := pd.ReadDir(-1)
	if err != nil {
		pd.Close()
		return nil, nil, mapErr(err, "disk: list "+pd.Name())
	}
	return pd, ents, nil
}

// listShares returns the ShareInfo of every share file in si's
// directory, sorted by shnum, using directory reads and lstat only.
func (b *fsys) listShares(root *os.File, si sharestore.StorageIndex) ([]sharestore.ShareInfo, error) {
	pd, err := b.openPath(root, false, si.String()[:2])
	if err != nil {
		if absent(err) {
			return nil, nil
		}
		return nil, mapErr(err, "disk: list "+filepath.Join(b.shares, si.String()[:2]))
	}
	defer pd.Close()
	return b.listSharesAt(pd, si)
}

// shareInfo is the listing entry for a share file of si, or false when
// the file is not a regular file.
func shareInfo(si sharestore.StorageIndex, shnum int, st entryStat) (sharestore.ShareInfo, bool) {
	return sharestore.ShareInfo{SI: si, Shnum: shnum, Size: st.size, UsedSpace: st.used, ModTime: st.modTime}, st.regular
}

func sortByShnum(infos []sharestore.ShareInfo) {
	slices.SortFunc(infos, func(a, b sharestore.ShareInfo) int { return a.ID().Compare(b.ID()) })
}

// entryStat is what a listing needs of a directory entry's lstat.
type entryStat struct {
	regular bool
	symlink bool
	dir     bool
	size    int64
	used    int64 // allocated bytes (st_blocks * 512)
	modTime time.Time
}

// ListPrefix implements driver.Driver. It reads the prefix directory
// and each storage index directory, and stats each share file; it opens
// no share.
func (b *fsys) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	root, err := b.hold(ctx)
	if err != nil {
		return err
	}
	defer b.release()
	pd, ents, err := b.openPrefix(root, p)
	if pd == nil {
		return err
	}
	defer pd.Close()
	for _, si := range b.sharesetsIn(pd, p, ents) {
		if err := sharestore.CtxErr(ctx); err != nil {
			return err
		}
		infos, err := b.listSharesAt(pd, si)
		if err != nil {
			return err
		}
		for _, info := range infos {
			if err := sharestore.CtxErr(ctx); err != nil {
				return err
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// SharesetsForPrefix implements driver.Driver: the storage index
// directories under the prefix, sorted.
func (b *fsys) SharesetsForPrefix(ctx context.Context, p sharestore.Prefix) ([]sharestore.StorageIndex, error) {
	root, err := b.hold(ctx)
	if err != nil {
		return nil, err
	}
	defer b.release()
	pd, ents, err := b.openPrefix(root, p)
	if pd == nil {
		return nil, err
	}
	defer pd.Close()
	return b.sharesetsIn(pd, p, ents), nil
}

// set returns the handle of si's directory.
func (b *fsys) set(si sharestore.StorageIndex) *shareset {
	return &shareset{b: b, si: si}
}

// AvailableSpace implements driver.Driver: the file system's space
// available to unprivileged users minus the reserved space, never below
// 0 (the shared layer answers 0 when read-only).
func (b *fsys) AvailableSpace(ctx context.Context) (int64, error) {
	avail, err := availableBytes(b.root)
	if err != nil {
		return 0, mapErr(err, "disk: statfs "+b.root)
	}
	return max(avail-b.opts.ReservedSpace, 0), nil
}

// Capabilities implements driver.Driver.
func (b *fsys) Capabilities() sharestore.Capabilities {
	return sharestore.Capabilities{
		Name:                  "disk",
		Version:               Version,
		ConditionalWrites:     true,
		StrongListConsistency: true,
		ReadOnly:              b.opts.ReadOnly,
	}
}

// Close implements driver.Driver. Uploads still open keep their
// incoming files and may still be closed or aborted; CleanIncoming
// removes what they leave.
func (b *fsys) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		b.refs--
		if b.refs == 0 {
			b.dir.Close()
			b.dir = nil
		}
	}
	return nil
}

// headerReadHook, when set by tests, sees every header read.
var headerReadHook func(path string, n int)

// readHeader opens path and classifies it from at most its first
// share.HeaderReadSize bytes.
func readHeader(f *os.File) (share.Header, error) {
	fi, err := f.Stat()
	if err != nil {
		return share.Header{}, err
	}
	head := make([]byte, min(fi.Size(), share.HeaderReadSize))
	if headerReadHook != nil {
		headerReadHook(f.Name(), len(head))
	}
	if _, err := io.ReadFull(f, head); err != nil {
		return share.Header{}, err
	}
	return share.Classify(head, fi.Size())
}
