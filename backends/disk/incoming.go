package disk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
	"github.com/sharestore/sharestore/share"
)

// StagePut implements driver.Driver. The bytes go to a temporary file
// of its own in si's incoming directory, N.put-RANDOM, held under an
// exclusive flock while it is written; Commit fsyncs it and renames it
// over the share, so a reader sees either the old share or the whole new
// one. Leftovers of that naming for shnum whose flock is free (their
// writer died) are removed first; see the package documentation.
func (b *fsys) StagePut(ctx context.Context, si sharestore.StorageIndex, shnum int, r io.Reader, size int64) (driver.Staged, error) {
	root, err := b.hold(ctx)
	if err != nil {
		return nil, err
	}
	s := b.set(si)
	if err := s.checkTarget(root, shnum, false); err != nil {
		b.release()
		return nil, err
	}
	w, err := b.startPut(root, si, shnum)
	if err != nil {
		b.release()
		return nil, err
	}
	if _, err := io.Copy(w.f, r); err != nil {
		w.abort()
		if sharestore.CodeOf(err) != sharestore.ErrInternal {
			return nil, err
		}
		return nil, mapErr(err, "disk: put "+w.path)
	}
	return staged{w}, nil
}

// staged is a PutRaw's temporary file, written whole.
type staged struct{ w *incomingFile }

func (st staged) Commit(ctx context.Context) error { return st.w.commit(ctx, true) }
func (st staged) Discard()                         { st.w.abort() }

// checkTarget fails, before anything is written, when share shnum could
// not be written: a symbolic link as the prefix or storage index
// directory (ErrPermissionDenied naming it), or, with mustNotExist, an
// existing share (ErrConflict).
func (s *shareset) checkTarget(root *os.File, shnum int, mustNotExist bool) error {
	what := "disk: write " + filepath.Join(s.dirPath(), strconv.Itoa(shnum))
	d, err := s.b.openSIDir(root, s.si, false)
	if err != nil {
		return deleteErr(err, what)
	}
	defer d.Close()
	if !mustNotExist {
		return nil
	}
	if _, err := lstatIn(d, strconv.Itoa(shnum)); err == nil {
		return sharestore.Errorf(sharestore.ErrConflict, "disk: share %s/%d already exists", s.si, shnum)
	}
	return nil
}

// StartImmutable implements driver.Driver. The upload is Tahoe's
// incoming/PP/SI/N, created exclusively, until Commit renames it into
// place.
func (b *fsys) StartImmutable(ctx context.Context, si sharestore.StorageIndex, shnum int, allocated int64) (driver.Upload, error) {
	root, err := b.hold(ctx)
	if err != nil {
		return nil, err
	}
	if err := b.set(si).checkTarget(root, shnum, true); err != nil {
		b.release()
		return nil, err
	}
	w, err := b.startIncoming(root, si, shnum)
	if err != nil {
		b.release()
		return nil, err
	}
	if _, err := w.f.Write(share.NewImmutableHeader(b.opts.ContainerVersion, allocated)); err != nil {
		w.abort()
		return nil, mapErr(err, "disk: write "+w.path)
	}
	return &upload{w: w}, nil
}

// incomingFile is a file in si's directory under shares/incoming that
// becomes share shnum on commit. It owns one hold of the backend's
// shares/ directory, released when it is committed or aborted.
type incomingFile struct {
	b     *fsys
	root  *os.File
	si    sharestore.StorageIndex
	shnum int
	dir   *os.File // si's incoming directory
	name  string   // the file's name in dir
	path  string   // and its path, for messages
	f     *os.File
	tahoe bool // named N, as Tahoe does
	done  bool
}

// startIncoming creates incoming/PP/SI/N exclusively, taking over the
// caller's hold of root. An existing incoming file (an upload in
// progress here or by another server process, or a leftover) is
// ErrConflict.
func (b *fsys) startIncoming(root *os.File, si sharestore.StorageIndex, shnum int) (*incomingFile, error) {
	return retryVanished(func() (*incomingFile, bool, error) { return b.tryStartIncoming(root, si, shnum) })
}

// tryStartIncoming is one attempt of startIncoming. It asks for a retry
// when a directory on the way went away under it.
func (b *fsys) tryStartIncoming(root *os.File, si sharestore.StorageIndex, shnum int) (*incomingFile, bool, error) {
	id := sharestore.ShareID{SI: si, Shnum: shnum}
	d, err := b.openIncomingDir(root, si, true)
	if err != nil {
		return nil, errors.Is(err, fs.ErrNotExist), mapErr(err, "disk: create "+b.incomingPath(si))
	}
	name := strconv.Itoa(shnum)
	f, err := openFileIn(d, name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		d.Close()
		if errors.Is(err, fs.ErrExist) {
			return nil, false, sharestore.Errorf(sharestore.ErrConflict, "disk: share %s is already being written (%s exists; if no upload is running, `sharestore maintenance clean-incoming` removes leftovers)", id, pathIn(d, name))
		}
		return nil, errors.Is(err, fs.ErrNotExist), mapErr(err, "disk: create "+pathIn(d, name))
	}
	return &incomingFile{b: b, root: root, si: si, shnum: shnum, dir: d, name: name, path: f.Name(), f: f, tahoe: true}, false, nil
}

// vanishAttempts bounds how often a create under shares/incoming starts
// again. Every upload that ends removes its incoming storage index and
// prefix directories if that left them empty, as Tahoe does, and it
// takes no lock to do so: a writer in the same prefix can find the
// directory it just opened or created unlinked before it creates its
// file. Each retry means another writer made progress.
const vanishAttempts = 100

// retryVanished calls try until it succeeds, fails without asking for a
// retry, or has been called vanishAttempts times, and returns its last
// result.
func retryVanished[T any](try func() (T, bool, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, retry, err := try()
		if !retry || attempt == vanishAttempts {
			return v, err
		}
	}
}

// incomingPath is the path of si's incoming directory, for messages.
func (b *fsys) incomingPath(si sharestore.StorageIndex) string {
	s := si.String()
	return filepath.Join(b.shares, "incoming", s[:2], s)
}

// putMarker separates the share number from the random part in the
// names of PutRaw's temporary files.
const putMarker = ".put-"

// parsePutName returns the share number of a PutRaw temporary file's
// name, N.put-HEX, or false for any other name.
func parsePutName(name string) (int, bool) {
	n, rnd, ok := strings.Cut(name, putMarker)
	if !ok || rnd == "" {
		return 0, false
	}
	if _, err := hex.DecodeString(rnd); err != nil {
		return 0, false
	}
	return driver.ParseShnum(n)
}

// startPut creates a new PutRaw temporary file for shnum in si's
// incoming directory and flocks it, after removing that share's dead
// leftovers, taking over the caller's hold of root.
func (b *fsys) startPut(root *os.File, si sharestore.StorageIndex, shnum int) (*incomingFile, error) {
	return retryVanished(func() (*incomingFile, bool, error) { return b.tryStartPut(root, si, shnum) })
}

// tryStartPut is one attempt of startPut. It asks for a retry when
// the directory went away under it (another put emptied and removed it)
// or another put's cleanup removed the new file before it was locked.
func (b *fsys) tryStartPut(root *os.File, si sharestore.StorageIndex, shnum int) (w *incomingFile, retry bool, err error) {
	d, err := b.openIncomingDir(root, si, true)
	if err != nil {
		return nil, errors.Is(err, fs.ErrNotExist), mapErr(err, "disk: create "+b.incomingPath(si))
	}
	if names, err := dirNames(d); err == nil {
		removeDeadPuts(d, names, func(n int) bool { return n == shnum })
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	name := strconv.Itoa(shnum) + putMarker + hex.EncodeToString(rnd[:])
	f, err := openFileIn(d, name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		d.Close()
		return nil, errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist), mapErr(err, "disk: create "+pathIn(d, name))
	}
	locked, err := tryLock(f)
	if err == nil && locked {
		locked, err = linked(f)
	}
	if err != nil || !locked {
		f.Close()
		d.Close()
		if err != nil {
			return nil, false, mapErr(err, "disk: lock "+pathIn(d, name))
		}
		return nil, true, sharestore.Errorf(sharestore.ErrConflict, "disk: %s was taken over while it was created", pathIn(d, name))
	}
	return &incomingFile{b: b, root: root, si: si, shnum: shnum, dir: d, name: name, path: f.Name(), f: f}, false, nil
}

// removeDeadPuts removes the PutRaw temporary files among names in the
// incoming directory d whose share number match selects and whose flock
// can be taken: no writer holds them, so it died. It returns their
// paths. A file it cannot open, lock or remove, or that is not a regular
// file, is left alone.
func removeDeadPuts(d *os.File, names []string, match func(int) bool) []string {
	var removed []string
	for _, name := range names {
		if n, ok := parsePutName(name); ok && match(n) && removeIfDead(d, name) {
			removed = append(removed, pathIn(d, name))
		}
	}
	return removed
}

// removeIfDead removes the regular file name from d if its flock is
// free. It opens the file without blocking, so a FIFO cannot hang it.
func removeIfDead(d *os.File, name string) bool {
	f, err := openFileIn(d, name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	free, err := tryLock(f)
	return err == nil && free && unlinkIn(d, name) == nil
}

// finish ends the file's life: it is no longer registered, its
// incoming directories go if that left them empty (Tahoe removes the
// incoming SI and prefix directories after close but keeps
// shares/incoming itself), and its hold is released.
func (w *incomingFile) finish() {
	w.done = true
	w.dir.Close()
	s := w.si.String()
	if inc, err := w.b.openPath(w.root, false, "incoming"); err == nil {
		if pd, err := w.b.openPath(inc, false, s[:2]); err == nil {
			removeIfEmpty(pd, s)
			pd.Close()
		}
		removeIfEmpty(inc, s[:2])
		inc.Close()
	}
	w.b.release()
}

func (w *incomingFile) abort() {
	if w.done {
		return
	}
	w.f.Close()
	unlinkIn(w.dir, w.name)
	w.finish()
}

// commit fsyncs the file and renames it into place. Unless replace is
// set, an existing share is ErrConflict. The caller holds the SI lock.
func (w *incomingFile) commit(ctx context.Context, replace bool) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return mapErr(err, "disk: sync "+w.path)
	}
	if err := w.f.Close(); err != nil {
		return mapErr(err, "disk: close "+w.path)
	}
	d, err := w.b.openSIDir(w.root, w.si, true)
	if err != nil {
		return mapErr(err, "disk: create "+(&shareset{b: w.b, si: w.si}).dirPath())
	}
	defer d.Close()
	final := strconv.Itoa(w.shnum)
	if st, err := lstatIn(d, final); err == nil {
		if st.symlink {
			w.b.warnLink(pathIn(d, final))
			return mapErr(&symlinkError{path: pathIn(d, final)}, "disk: write "+w.si.String()+"/"+final)
		}
		if !replace {
			return sharestore.Errorf(sharestore.ErrConflict, "disk: share %s/%d already exists", w.si, w.shnum)
		}
	}
	if err := renameIn(w.dir, w.name, d, final); err != nil {
		return mapErr(err, "disk: rename "+w.path)
	}
	if err := syncDir(d); err != nil {
		return mapErr(err, "disk: sync "+d.Name())
	}
	w.finish()
	return nil
}

// upload is an immutable share being written to its incoming file.
type upload struct{ w *incomingFile }

// Write implements driver.Upload.
func (u *upload) Write(ctx context.Context, offset int64, data []byte) error {
	if _, err := u.w.f.WriteAt(data, share.ImmutableHeaderSize+offset); err != nil {
		return mapErr(err, "disk: write "+u.w.path)
	}
	return nil
}

// Commit implements driver.Upload.
func (u *upload) Commit(ctx context.Context) error { return u.w.commit(ctx, false) }

// Abort implements driver.Upload.
func (u *upload) Abort(ctx context.Context) error {
	u.w.abort()
	return nil
}
