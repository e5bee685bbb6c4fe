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
// CleanIncoming.
package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/silock"
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
}

// Backend is a share store in a Tahoe storage directory. It is safe for
// concurrent use.
type Backend struct {
	root   string
	shares string
	opts   Options
	locks  silock.Map[sharestore.StorageIndex]

	mu       sync.Mutex
	incoming map[sharestore.ShareID]bool
	closed   bool
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
	if opts.Create && !opts.ReadOnly {
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, mapErr(err, "disk: create "+abs)
		}
	}
	st, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, sharestore.Errorf(sharestore.ErrNotFound, "disk: storage directory %s does not exist", abs)
		}
		return nil, mapErr(err, "disk: storage directory "+abs)
	}
	if !st.IsDir() {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: %s is not a directory", abs)
	}
	shares := filepath.Join(abs, "shares")
	st, err = os.Stat(shares)
	switch {
	case err == nil && !st.IsDir():
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: %s is not a directory, so %s is not a Tahoe storage directory", shares, abs)
	case errors.Is(err, fs.ErrNotExist) && opts.Create && !opts.ReadOnly:
		if err := os.MkdirAll(shares, 0o755); err != nil {
			return nil, mapErr(err, "disk: create "+shares)
		}
	case errors.Is(err, fs.ErrNotExist):
		hint := ""
		if st, err := os.Stat(filepath.Join(abs, "storage", "shares")); err == nil && st.IsDir() {
			hint = fmt.Sprintf(" (did you mean %s?)", filepath.Join(abs, "storage"))
		}
		return nil, sharestore.Errorf(sharestore.ErrNotFound, "disk: %s is not a Tahoe storage directory: it has no shares/ folder%s", abs, hint)
	case err != nil:
		return nil, mapErr(err, "disk: "+shares)
	}
	return &Backend{root: abs, shares: shares, opts: opts, incoming: map[sharestore.ShareID]bool{}}, nil
}

// Root returns the absolute path of the storage directory.
func (b *Backend) Root() string { return b.root }

func (b *Backend) prefixDir(p sharestore.Prefix) string { return filepath.Join(b.shares, string(p)) }

func (b *Backend) siDir(si sharestore.StorageIndex) string {
	s := si.String()
	return filepath.Join(b.shares, s[:2], s)
}

func (b *Backend) sharePath(si sharestore.StorageIndex, shnum int) string {
	return filepath.Join(b.siDir(si), strconv.Itoa(shnum))
}

func (b *Backend) incomingPath(si sharestore.StorageIndex, shnum int) string {
	s := si.String()
	return filepath.Join(b.shares, "incoming", s[:2], s, strconv.Itoa(shnum))
}

func (b *Backend) check(ctx context.Context) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: backend %s is closed", b.root)
	}
	return nil
}

func (b *Backend) checkWrite(ctx context.Context) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if b.opts.ReadOnly {
		return sharestore.Errorf(sharestore.ErrPermissionDenied, "disk: %s is read-only", b.root)
	}
	return nil
}

func checkShnum(shnum int) error {
	if shnum < 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: negative share number %d", shnum)
	}
	return nil
}

// mapErr classifies a file-system error into the vocabulary, keeping it as
// the cause.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	code := sharestore.ErrInternal
	switch {
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

// parseShnumBytes accepts only canonical decimal share numbers ("0",
// "17"), the names Tahoe writes; anything else in an SI directory is
// ignored.
func parseShnumBytes(name []byte) (int, bool) {
	if len(name) == 0 || len(name) > 9 || (len(name) > 1 && name[0] == '0') {
		return 0, false
	}
	n := 0
	for _, c := range name {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// readDirNames returns the names in dir, or nil if dir does not exist or
// is not a directory.
func readDirNames(dir string) ([]string, error) {
	ents, err := readDir(dir)
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, err
}

// readDir returns the entries of dir (with their types, from getdents),
// or nil if dir does not exist or is not a directory.
func readDir(dir string) ([]fs.DirEntry, error) {
	f, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return nil, nil // a stray file where a directory belongs
		}
		return nil, err
	}
	return ents, nil
}

// sharesetNames returns the sorted storage indexes named in the prefix
// directory; other names are ignored.
func (b *Backend) sharesetNames(p sharestore.Prefix) ([]sharestore.StorageIndex, error) {
	ents, err := readDir(b.prefixDir(p))
	if err != nil {
		return nil, mapErr(err, "disk: list "+b.prefixDir(p))
	}
	return sharesetsIn(p, ents), nil
}

// sharesetsIn returns the sorted storage indexes among the entries of
// p's directory: directories with a storage index's canonical name.
func sharesetsIn(p sharestore.Prefix, ents []fs.DirEntry) []sharestore.StorageIndex {
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	out := make([]sharestore.StorageIndex, 0, len(ents))
	for _, e := range ents {
		n := e.Name()
		if len(n) != sharestore.StorageIndexTextSize || n[:2] != string(p) || !e.IsDir() {
			continue // stray names, and files named like a storage index
		}
		si, err := sharestore.ParseStorageIndex(n)
		if err != nil {
			continue
		}
		out = append(out, si)
	}
	return out
}

// listShares returns the ShareInfo of every share file in si's directory,
// sorted by shnum, using directory reads and lstat only.
func (b *Backend) listShares(si sharestore.StorageIndex) ([]sharestore.ShareInfo, error) {
	return listSharesAt(nil, b.siDir(si), si)
}

// listIn lists si's shares, opening its directory relative to the open
// prefix directory pd.
func listIn(pd *os.File, si sharestore.StorageIndex) ([]sharestore.ShareInfo, error) {
	return listSharesAt(pd, si.String(), si)
}

// shareInfo is the listing entry for a share file of si, or false when
// the file is not a regular file.
func shareInfo(si sharestore.StorageIndex, shnum int, st entryStat) (sharestore.ShareInfo, bool) {
	return sharestore.ShareInfo{SI: si, Shnum: shnum, Size: st.size, UsedSpace: st.used, ModTime: st.modTime}, st.regular
}

func sortByShnum(infos []sharestore.ShareInfo) {
	slices.SortFunc(infos, func(a, b sharestore.ShareInfo) int { return a.Shnum - b.Shnum })
}

// entryStat is what a listing needs of a directory entry's lstat.
type entryStat struct {
	regular bool
	size    int64
	used    int64 // allocated bytes (st_blocks * 512)
	modTime time.Time
}

// ListPrefix implements sharestore.Backend. It reads the prefix directory
// and each storage index directory, and stats each share file; it opens
// no share.
func (b *Backend) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if !p.Valid() {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: invalid prefix %q", string(p))
	}
	dir := b.prefixDir(p)
	pd, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return mapErr(err, "disk: list "+dir)
	}
	defer pd.Close()
	ents, err := pd.ReadDir(-1)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return mapErr(err, "disk: list "+dir)
	}
	for _, si := range sharesetsIn(p, ents) {
		if err := sharestore.CtxErr(ctx); err != nil {
			return err
		}
		infos, err := listIn(pd, si)
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

// SharesetsForPrefix implements sharestore.Backend: the storage index
// directories under the prefix, sorted.
func (b *Backend) SharesetsForPrefix(ctx context.Context, p sharestore.Prefix) ([]sharestore.StorageIndex, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	if !p.Valid() {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: invalid prefix %q", string(p))
	}
	return b.sharesetNames(p)
}

// Shareset implements sharestore.Backend.
func (b *Backend) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return &shareset{b: b, si: si}
}

// AvailableSpace implements sharestore.Backend: the file system's space
// available to unprivileged users minus the reserved space, never below
// 0, and 0 when read-only.
func (b *Backend) AvailableSpace(ctx context.Context) (int64, error) {
	if err := b.check(ctx); err != nil {
		return 0, err
	}
	if b.opts.ReadOnly {
		return 0, nil
	}
	avail, err := availableBytes(b.root)
	if err != nil {
		return 0, mapErr(err, "disk: statfs "+b.root)
	}
	return max(avail-b.opts.ReservedSpace, 0), nil
}

// Capabilities implements sharestore.Backend.
func (b *Backend) Capabilities() sharestore.Capabilities {
	return sharestore.Capabilities{
		Name:                  "disk",
		Version:               Version,
		ConditionalWrites:     true,
		StrongListConsistency: true,
		ReadOnly:              b.opts.ReadOnly,
	}
}

// Close implements sharestore.Backend. Uploads still open keep their
// incoming files; CleanIncoming removes them later.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// syncDir fsyncs a directory so that a rename or unlink in it is durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// removeIfEmpty removes dir if it is empty, ignoring "not empty" and
// "missing". It never removes a non-empty directory.
func removeIfEmpty(dir string) {
	if err := syscall.Rmdir(dir); err == nil {
		_ = syncDir(filepath.Dir(dir))
	}
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
