package driver

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/sharestore/sharestore"
)

// WriteImmutable implements sharestore.Shareset: the share is registered
// as being written (a second upload of it through this Backend is
// ErrConflict until this one ends), and the driver starts the upload.
func (s *shareset) WriteImmutable(ctx context.Context, shnum int, allocated int64) (sharestore.ImmutableWriter, error) {
	if err := s.b.checkWrite(ctx); err != nil {
		return nil, err
	}
	if err := s.checkShnum(shnum); err != nil {
		return nil, err
	}
	if allocated < 0 {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: write %s/%d: negative allocated size %d", s.b.opts.Name, s.si, shnum, allocated)
	}
	id := sharestore.ShareID{SI: s.si, Shnum: shnum}
	if err := s.b.claim(id); err != nil {
		return nil, err
	}
	up, err := s.b.d.StartImmutable(ctx, s.si, shnum, allocated)
	if err != nil {
		s.b.unclaim(id)
		return nil, err
	}
	return &writer{s: s, id: id, up: up, allocated: allocated}, nil
}

// writer enforces the ImmutableWriter rules over a driver's Upload.
type writer struct {
	s         *shareset
	id        sharestore.ShareID
	up        Upload
	allocated int64

	mu   sync.Mutex
	end  int64
	done bool
}

func (w *writer) what() string {
	return fmt.Sprintf("%s: share %s/%d", w.s.b.opts.Name, w.id.SI, w.id.Shnum)
}

// Write implements sharestore.ImmutableWriter.
func (w *writer) Write(ctx context.Context, offset int64, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: write after close or abort", w.what())
	}
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	if offset < w.end {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: write at offset %d goes backwards (data already written to %d)", w.what(), offset, w.end)
	}
	if offset > w.allocated || int64(len(data)) > w.allocated-offset {
		return sharestore.Errorf(sharestore.ErrOutOfRange, "%s: write of %d bytes at offset %d passes the allocated size %d", w.what(), len(data), offset, w.allocated)
	}
	if err := w.up.Write(ctx, offset, data); err != nil {
		return err
	}
	w.end = offset + int64(len(data))
	return nil
}

// Close implements sharestore.ImmutableWriter: the driver commits under
// the storage index's lock; a failed Close aborts the upload.
func (w *writer) Close(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s is already closed or aborted", w.what())
	}
	err := w.commit(ctx)
	if err != nil {
		w.up.Abort(context.WithoutCancel(ctx))
	}
	w.finish()
	return err
}

// commit commits under the lock. It does not refuse a closed Backend:
// an upload begun before Close may still be closed, if the driver can.
func (w *writer) commit(ctx context.Context) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	unlock, err := w.s.b.locks.Lock(ctx, w.id.SI)
	if err != nil {
		return err
	}
	defer unlock()
	return w.up.Commit(ctx)
}

// Abort implements sharestore.ImmutableWriter. A second call, or one
// after Close, does nothing.
func (w *writer) Abort(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	w.finish()
	return w.up.Abort(ctx)
}

func (w *writer) finish() {
	w.done = true
	w.s.b.unclaim(w.id)
}

// PutRaw implements sharestore.Shareset: the driver stages exactly size
// bytes of r (a reader that yields fewer or more is ErrInvalidArgument,
// and nothing is stored), then commits them under si's lock.
func (s *shareset) PutRaw(ctx context.Context, shnum int, r io.Reader, size int64) error {
	if err := s.b.checkWrite(ctx); err != nil {
		return err
	}
	if err := s.checkShnum(shnum); err != nil {
		return err
	}
	what := fmt.Sprintf("%s: put %s/%d", s.b.opts.Name, s.si, shnum)
	if size < 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: negative size %d", what, size)
	}
	id := sharestore.ShareID{SI: s.si, Shnum: shnum}
	if err := s.b.claim(id); err != nil {
		return err
	}
	defer s.b.unclaim(id)
	st, err := s.b.d.StagePut(ctx, s.si, shnum, Exactly(ctx, r, size, what), size)
	if err != nil {
		return err
	}
	if err := s.commitPut(ctx, st); err != nil {
		st.Discard()
		return err
	}
	return nil
}

func (s *shareset) commitPut(ctx context.Context, st Staged) error {
	if err := s.b.check(ctx); err != nil {
		return err
	}
	unlock, err := s.b.locks.Lock(ctx, s.si)
	if err != nil {
		return err
	}
	defer unlock()
	return st.Commit(ctx)
}

// Exactly returns a reader of r that checks ctx before every read and
// yields exactly size bytes: if r ends early, or has a byte more, the
// read that finds out fails with ErrInvalidArgument naming what.
func Exactly(ctx context.Context, r io.Reader, size int64, what string) io.Reader {
	return &exact{r: sharestore.ContextReader(ctx, r), left: size, size: size, what: what}
}

type exact struct {
	r    io.Reader
	left int64
	size int64
	what string
	err  error
}

func (e *exact) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.left == 0 {
		var one [1]byte
		n, err := io.ReadFull(e.r, one[:])
		switch {
		case n > 0:
			e.err = sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: reader has more than %d bytes", e.what, e.size)
		case err == io.EOF:
			e.err = io.EOF
		default:
			e.err = e.fail(err)
		}
		return 0, e.err
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		e.err = sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: reader gave %d bytes, want %d", e.what, e.size-e.left, e.size)
		return n, e.err
	}
	if err != nil && err != io.EOF {
		e.err = e.fail(err)
		return n, e.err
	}
	return n, nil
}

// fail classifies an error of the source reader: a context error or an
// error of the vocabulary keeps its class, anything else is
// ErrInvalidArgument (the caller's reader failed, not the store).
func (e *exact) fail(err error) error {
	if sharestore.CodeOf(err) != sharestore.ErrInternal {
		return err
	}
	return sharestore.Wrap(sharestore.ErrInvalidArgument, err, e.what+": reading the source")
}
