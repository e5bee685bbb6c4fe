package cloud

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
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
	// old, when set, is the shnum's chunks as listed under the SI lock
	// before the stream began, so finish need not list them again.
	old chunkSet
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
	cs := c.old
	if cs == nil {
		var err error
		if cs, err = c.s.listShare(ctx, c.shnum); err != nil {
			return err
		}
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

// StartImmutable implements driver.Driver. The upload streams the
// container chunk by chunk: chunks 1, 2, … are PUT as they fill, and
// chunk 0 (the key shares/PP/SI/N, which listings require) is PUT last,
// by Commit. Until then the share is invisible: listings skip chunks
// whose chunk 0 is missing. Abort deletes the chunks already stored;
// after a crash they remain as invisible, uncounted leftovers that the
// next write of the shnum deletes. New immutable containers have the
// cloud header (version, 0, 0).
func (b *chunked) StartImmutable(ctx context.Context, si sharestore.StorageIndex, shnum int, allocated int64) (driver.Upload, error) {
	s := b.set(si)
	if err := s.absent(ctx, shnum); err != nil {
		return nil, err
	}
	u := &upload{s: s, shnum: shnum, st: &chunkStream{s: s, shnum: shnum, cs: b.opts.ChunkSize}}
	if err := u.st.write(ctx, share.NewImmutableHeader(b.opts.ContainerVersion, 0)); err != nil {
		u.Abort(ctx)
		return nil, err
	}
	return u, nil
}

// absent is nil when shnum's chunk 0 does not exist, and ErrConflict
// when it does.
func (s *shareset) absent(ctx context.Context, shnum int) error {
	_, err := s.b.head(ctx, ChunkKey(s.si, shnum, 0))
	switch {
	case err == nil:
		return sharestore.Errorf(sharestore.ErrConflict, "%s already exists", s.what(shnum))
	case errors.Is(err, sharestore.ErrNotFound):
		return nil
	}
	return err
}

// upload is an immutable share being written as chunk objects.
type upload struct {
	s     *shareset
	shnum int
	end   int64
	st    *chunkStream
}

// Write implements driver.Upload; a gap since the last write is zeros.
func (u *upload) Write(ctx context.Context, offset int64, data []byte) error {
	if err := u.st.zeros(ctx, offset-u.end); err != nil {
		return err
	}
	if err := u.st.write(ctx, data); err != nil {
		return err
	}
	u.end = offset + int64(len(data))
	return nil
}

// Commit implements driver.Upload: chunk 0 goes last, if the share does
// not exist by now.
func (u *upload) Commit(ctx context.Context) error {
	if err := u.s.absent(ctx, u.shnum); err != nil {
		return err
	}
	return u.st.finish(ctx)
}

// Abort implements driver.Upload.
func (u *upload) Abort(ctx context.Context) error { return u.st.discard(ctx) }

// StagePut implements driver.Driver. A container of at most one chunk is
// read into memory and stored with one PUT, which replaces an old
// single-chunk share atomically. A larger one is first spooled to a
// temporary file, so a reader that yields the wrong number of bytes
// leaves any old share untouched; then Commit, under the storage index's
// lock, deletes the old share's chunk 0 (the old share disappears), PUTs
// the new chunks 1, 2, …, deletes stale chunks and PUTs chunk 0 last (the
// new share appears).
func (b *chunked) StagePut(ctx context.Context, si sharestore.StorageIndex, shnum int, r io.Reader, size int64) (driver.Staged, error) {
	s := b.set(si)
	if size <= b.opts.ChunkSize {
		buf, err := io.ReadAll(r)
		if err != nil {
			return nil, sharestore.Wrap(sharestore.CodeOf(err), err, s.what(shnum)+": read")
		}
		return &staged{s: s, shnum: shnum, size: size, src: &byteSrc{b: buf}}, nil
	}
	tmp, err := os.CreateTemp("", "sharestore-putraw-*")
	if err != nil {
		return nil, sharestore.Wrap(sharestore.ErrInternal, err, s.what(shnum)+": spool")
	}
	st := &staged{s: s, shnum: shnum, size: size, src: tmp, tmp: tmp}
	if _, err := io.Copy(tmp, r); err != nil {
		st.Discard()
		return nil, sharestore.Wrap(sharestore.CodeOf(err), err, s.what(shnum)+": read")
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		st.Discard()
		return nil, sharestore.Wrap(sharestore.ErrInternal, err, s.what(shnum)+": spool")
	}
	return st, nil
}

// staged is a PutRaw's bytes, in memory or in a spool file.
type staged struct {
	s     *shareset
	shnum int
	size  int64
	src   io.Reader
	tmp   *os.File
}

// Discard implements driver.Staged.
func (st *staged) Discard() {
	if st.tmp != nil {
		st.tmp.Close()
		os.Remove(st.tmp.Name())
		st.tmp = nil
	}
}

// Commit implements driver.Staged.
func (st *staged) Commit(ctx context.Context) error {
	defer st.Discard()
	s, shnum, cs := st.s, st.shnum, st.s.b.opts.ChunkSize
	old, err := s.listShare(ctx, shnum)
	if err != nil {
		return err
	}
	oldL, exists := layoutOf(old)
	if exists && (st.size > cs || len(oldL.sizes) > 1) {
		if err := s.b.del(ctx, ChunkKey(s.si, shnum, 0)); err != nil {
			return err
		}
	}
	// The listing above, made under the SI lock, is what finish needs
	// to find stale chunks: no second LIST.
	w := &chunkStream{s: s, shnum: shnum, cs: cs, old: old}
	if w.old == nil {
		w.old = chunkSet{}
	}
	buf := make([]byte, 64*1024)
	for {
		n, rerr := st.src.Read(buf)
		if n > 0 {
			if err := w.write(ctx, buf[:n]); err != nil {
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
	return w.finish(ctx)
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
