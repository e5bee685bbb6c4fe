package cloud

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/share"
)

// chunkStream cuts a container byte stream into chunks. Chunk 0 is held
// in memory until finish; every later chunk is PUT as soon as it is full,
// so memory stays at two chunks whatever the share's size.
type chunkStream struct {
	s       *shareset
	shnum   int
	cs      int64
	chunk0  []byte
	cur     []byte
	curIdx  int64
	written []int64 // chunks ≥ 1 already PUT
	pos     int64   // container bytes consumed
}

func (c *chunkStream) write(ctx context.Context, p []byte) error {
	for len(p) > 0 {
		if c.pos < c.cs {
			k := min(int64(len(p)), c.cs-c.pos)
			c.chunk0 = append(c.chunk0, p[:k]...)
			p, c.pos = p[k:], c.pos+k
			continue
		}
		if c.curIdx == 0 {
			c.curIdx = 1
		}
		k := min(int64(len(p)), c.cs-int64(len(c.cur)))
		c.cur = append(c.cur, p[:k]...)
		p, c.pos = p[k:], c.pos+k
		if int64(len(c.cur)) == c.cs {
			if err := c.flushCur(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

var zeros = make([]byte, 64*1024)

func (c *chunkStream) zeros(ctx context.Context, n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if err := c.write(ctx, zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (c *chunkStream) flushCur(ctx context.Context) error {
	if len(c.cur) == 0 {
		return nil
	}
	if err := c.s.b.put(ctx, ChunkKey(c.s.si, c.shnum, c.curIdx), c.cur); err != nil {
		return err
	}
	c.written = append(c.written, c.curIdx)
	c.curIdx++
	c.cur = c.cur[:0]
	return nil
}

// finish completes a share whose chunks ≥ 1 are all stored: it deletes
// stale chunks of the shnum past the new last chunk, then PUTs chunk 0,
// which makes the share visible. The caller holds the SI lock.
func (c *chunkStream) finish(ctx context.Context) error {
	if err := c.flushCur(ctx); err != nil {
		return err
	}
	cs, err := c.s.listShare(ctx, c.shnum)
	if err != nil {
		return err
	}
	last := int64(0)
	if n := len(c.written); n > 0 {
		last = c.written[n-1]
	}
	for i := range cs {
		if i > last {
			if err := c.s.b.del(ctx, ChunkKey(c.s.si, c.shnum, i)); err != nil {
				return err
			}
		}
	}
	if c.chunk0 == nil {
		c.chunk0 = []byte{}
	}
	return c.s.b.put(ctx, ChunkKey(c.s.si, c.shnum, 0), c.chunk0)
}

// discard deletes the chunks this stream stored.
func (c *chunkStream) discard(ctx context.Context) error {
	var first error
	for _, i := range c.written {
		if err := c.s.b.del(ctx, ChunkKey(c.s.si, c.shnum, i)); err != nil && first == nil {
			first = err
		}
	}
	c.written = nil
	return first
}

// claim marks (si, shnum) as being written by this process.
func (s *shareset) claim(shnum int) error {
	id := sharestore.ShareID{SI: s.si, Shnum: shnum}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.incoming[id] {
		return sharestore.Errorf(sharestore.ErrConflict, "%s is already being written", s.what(shnum))
	}
	s.b.incoming[id] = true
	return nil
}

func (s *shareset) release(shnum int) {
	s.b.mu.Lock()
	delete(s.b.incoming, sharestore.ShareID{SI: s.si, Shnum: shnum})
	s.b.mu.Unlock()
}

// WriteImmutable implements sharestore.Shareset. The writer streams the
// container chunk by chunk: chunks 1, 2, … are PUT as they fill, and
// chunk 0 (the key shares/PP/SI/N, which listings require) is PUT last,
// by Close. Until then the share is invisible: listings skip chunks whose
// chunk 0 is missing. Abort deletes the chunks already stored; after a
// crash they remain as invisible, uncounted leftovers that the next
// write of the shnum deletes. New immutable containers have the cloud
// header (version, 0, 0).
func (s *shareset) WriteImmutable(ctx context.Context, shnum int, allocated int64) (sharestore.ImmutableWriter, error) {
	if err := s.b.check(ctx); err != nil {
		return nil, err
	}
	if err := s.checkShnum(shnum); err != nil {
		return nil, err
	}
	if allocated < 0 {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: negative allocated size %d", s.what(shnum), allocated)
	}
	if err := s.claim(shnum); err != nil {
		return nil, err
	}
	if _, err := s.b.head(ctx, ChunkKey(s.si, shnum, 0)); err == nil {
		s.release(shnum)
		return nil, sharestore.Errorf(sharestore.ErrConflict, "%s already exists", s.what(shnum))
	} else if !errors.Is(err, sharestore.ErrNotFound) {
		s.release(shnum)
		return nil, err
	}
	w := &immutableWriter{s: s, shnum: shnum, allocated: allocated,
		st: &chunkStream{s: s, shnum: shnum, cs: s.b.opts.ChunkSize}}
	if err := w.st.write(ctx, share.NewImmutableHeader(s.b.opts.ContainerVersion, 0)); err != nil {
		w.Abort(ctx)
		return nil, err
	}
	return w, nil
}

type immutableWriter struct {
	s         *shareset
	shnum     int
	allocated int64
	end       int64
	st        *chunkStream
	done      bool
}

func (w *immutableWriter) Write(ctx context.Context, offset int64, data []byte) error {
	if w.done {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: write after close or abort", w.s.what(w.shnum))
	}
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	if offset < w.end {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: write at offset %d goes backwards (data already written to %d)", w.s.what(w.shnum), offset, w.end)
	}
	if offset > w.allocated || int64(len(data)) > w.allocated-offset {
		return sharestore.Errorf(sharestore.ErrOutOfRange, "%s: write of %d bytes at offset %d passes the allocated size %d", w.s.what(w.shnum), len(data), offset, w.allocated)
	}
	if err := w.st.zeros(ctx, offset-w.end); err != nil {
		return err
	}
	if err := w.st.write(ctx, data); err != nil {
		return err
	}
	w.end = offset + int64(len(data))
	return nil
}

func (w *immutableWriter) Close(ctx context.Context) error {
	if w.done {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s is already closed or aborted", w.s.what(w.shnum))
	}
	fail := func(err error) error {
		w.Abort(context.WithoutCancel(ctx))
		return err
	}
	if err := sharestore.CtxErr(ctx); err != nil {
		return fail(err)
	}
	unlock, err := w.s.lock(ctx)
	if err != nil {
		return fail(err)
	}
	defer unlock()
	if _, err := w.s.b.head(ctx, ChunkKey(w.s.si, w.shnum, 0)); err == nil {
		return fail(sharestore.Errorf(sharestore.ErrConflict, "%s already exists", w.s.what(w.shnum)))
	} else if !errors.Is(err, sharestore.ErrNotFound) {
		return fail(err)
	}
	if err := w.st.finish(ctx); err != nil {
		return fail(err)
	}
	w.done = true
	w.s.release(w.shnum)
	return nil
}

func (w *immutableWriter) Abort(ctx context.Context) error {
	if w.done {
		return nil
	}
	w.done = true
	defer w.s.release(w.shnum)
	return w.st.discard(ctx)
}

// PutRaw implements sharestore.Shareset. A container of at most one chunk
// is read into memory and stored with one PUT, which replaces an old
// single-chunk share atomically. A larger one is first spooled to a
// temporary file, so a reader that yields the wrong number of bytes
// leaves any old share untouched; then, under the storage index's lock,
// the old share's chunk 0 is deleted (the old share disappears), the new
// chunks 1, 2, … are PUT, stale chunks are deleted and chunk 0 is PUT
// last (the new share appears).
func (s *shareset) PutRaw(ctx context.Context, shnum int, r io.Reader, size int64) error {
	if err := s.b.check(ctx); err != nil {
		return err
	}
	if err := s.checkShnum(shnum); err != nil {
		return err
	}
	if size < 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: negative size %d", s.what(shnum), size)
	}
	if err := s.claim(shnum); err != nil {
		return err
	}
	defer s.release(shnum)
	cs := s.b.opts.ChunkSize
	var src io.Reader
	if size <= cs {
		buf, err := readExactly(ctx, r, size, s.what(shnum))
		if err != nil {
			return err
		}
		src = &byteSrc{b: buf}
	} else {
		tmp, err := os.CreateTemp("", "sharestore-putraw-*")
		if err != nil {
			return sharestore.Wrap(sharestore.ErrInternal, err, s.what(shnum)+": spool")
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		n, err := io.Copy(tmp, sharestore.ContextReader(ctx, io.LimitReader(r, size)))
		if err != nil {
			return sharestore.Wrap(sharestore.CodeOf(err), err, s.what(shnum)+": read")
		}
		if err := checkExact(r, n, size, s.what(shnum)); err != nil {
			return err
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return sharestore.Wrap(sharestore.ErrInternal, err, s.what(shnum)+": spool")
		}
		src = tmp
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	old, err := s.listShare(ctx, shnum)
	if err != nil {
		return err
	}
	oldL, exists := layoutOf(old)
	if exists && (size > cs || len(oldL.sizes) > 1) {
		if err := s.b.del(ctx, ChunkKey(s.si, shnum, 0)); err != nil {
			return err
		}
	}
	st := &chunkStream{s: s, shnum: shnum, cs: cs}
	buf := make([]byte, 64*1024)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if err := st.write(ctx, buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return sharestore.Wrap(sharestore.ErrInternal, rerr, s.what(shnum)+": spool")
		}
	}
	return st.finish(ctx)
}

type byteSrc struct{ b []byte }

func (s *byteSrc) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

func readExactly(ctx context.Context, r io.Reader, size int64, what string) ([]byte, error) {
	buf := make([]byte, size)
	n, err := io.ReadFull(sharestore.ContextReader(ctx, r), buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, sharestore.Wrap(sharestore.CodeOf(err), err, what+": read")
	}
	if err := checkExact(r, int64(n), size, what); err != nil {
		return nil, err
	}
	return buf, nil
}

// checkExact fails unless n == size and r has nothing more.
func checkExact(r io.Reader, n, size int64, what string) error {
	if n != size {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: reader gave %d bytes, want %d", what, n, size)
	}
	var one [1]byte
	if m, _ := io.ReadFull(r, one[:]); m > 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: reader has more than %d bytes", what, size)
	}
	return nil
}
