package cloud

import (
	"context"
	"io"
	"sort"

	"github.com/sharestore/sharestore"
)

// chunkFile is random access to one share's chunks. Reads are ranged GETs
// of just the bytes asked for; writes load each touched chunk whole, edit
// it in memory, and Commit PUTs every changed chunk, so untouched chunks
// are never read or rewritten. It implements share.MutableFile.
type chunkFile struct {
	b     *chunked
	ctx   context.Context // io.ReaderAt and io.WriterAt carry no context
	si    sharestore.StorageIndex
	shnum int
	cs    int64   // chunk size
	size  int64   // logical container size
	lens  []int64 // stored length of each counted chunk
	stale []int64 // stored chunk numbers past the counted run
	cache map[int64][]byte
	dirty map[int64]bool
}

// openChunkFile returns the file for a share with layout l. Its chunk
// size is the length of chunk 0, except that a share of a single chunk
// may grow to max(len(chunk 0), the preferred chunk size), as in Tahoe.
func (b *chunked) openChunkFile(ctx context.Context, si sharestore.StorageIndex, shnum int, l layout) *chunkFile {
	cs := int64(0)
	if len(l.sizes) > 0 {
		cs = l.sizes[0]
	}
	if len(l.sizes) <= 1 {
		cs = max(cs, b.opts.ChunkSize)
	}
	return &chunkFile{b: b, ctx: ctx, si: si, shnum: shnum, cs: cs, size: l.size, lens: l.sizes, stale: l.stale,
		cache: map[int64][]byte{}, dirty: map[int64]bool{}}
}

func (f *chunkFile) key(i int64) string { return ChunkKey(f.si, f.shnum, i) }

// ReadAt implements io.ReaderAt over the logical container.
func (f *chunkFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: read at negative offset %d", f.b.opts.Name, off)
	}
	if off >= f.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	want := min(int64(len(p)), f.size-off)
	n := int64(0)
	for n < want {
		pos := off + n
		i := pos / f.cs
		in := pos - i*f.cs
		k := min(want-n, f.cs-in)
		switch c, ok := f.cache[i]; {
		case ok:
			m := int64(0)
			if in < int64(len(c)) {
				m = int64(copy(p[n:n+k], c[in:]))
			}
			clear(p[n+m : n+k]) // a chunk not yet padded reads as zeros
		case i < int64(len(f.lens)) && in < f.lens[i]:
			got, err := f.b.get(f.ctx, f.key(i), in, min(k, f.lens[i]-in))
			if err != nil {
				return int(n), err
			}
			m := int64(copy(p[n:n+k], got))
			if m < k {
				// The object is shorter than listed: it changed
				// under us, or a chunk in the middle is short.
				return int(n + m), io.ErrUnexpectedEOF
			}
		default:
			return int(n), io.ErrUnexpectedEOF
		}
		n += k
	}
	if want < int64(len(p)) {
		return int(want), io.EOF
	}
	return int(want), nil
}

// load returns chunk i's whole content, reading it once.
func (f *chunkFile) load(i int64) ([]byte, error) {
	if c, ok := f.cache[i]; ok {
		return c, nil
	}
	var c []byte
	if i < int64(len(f.lens)) && f.lens[i] > 0 {
		got, err := f.b.get(f.ctx, f.key(i), 0, -1)
		if err != nil {
			return nil, err
		}
		c = got
	}
	f.cache[i] = c
	return c, nil
}

// WriteAt implements io.WriterAt: past the end it extends the container.
func (f *chunkFile) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: write at negative offset %d", f.b.opts.Name, off)
	}
	end := off + int64(len(p))
	for pos := off; pos < end; {
		i := pos / f.cs
		in := pos - i*f.cs
		k := min(end-pos, f.cs-in)
		c, err := f.load(i)
		if err != nil {
			return int(pos - off), err
		}
		if need := in + k; int64(len(c)) < need {
			c = append(c, make([]byte, need-int64(len(c)))...)
		}
		copy(c[in:in+k], p[pos-off:pos-off+k])
		f.cache[i] = c
		f.dirty[i] = true
		pos += k
	}
	f.size = max(f.size, end)
	return len(p), nil
}

// Truncate sets the container's size. Chunks past the new end are
// deleted by Commit, and a shortened last chunk is rewritten.
func (f *chunkFile) Truncate(size int64) error {
	if size < 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: truncate to negative size %d", f.b.opts.Name, size)
	}
	if size < f.size {
		last := int64(0)
		if size > 0 {
			last = (size - 1) / f.cs
		}
		for i := range f.cache {
			if i > last {
				delete(f.cache, i)
				delete(f.dirty, i)
			}
		}
		if c, ok := f.cache[last]; ok && int64(len(c)) > size-last*f.cs {
			f.cache[last] = c[:size-last*f.cs]
			f.dirty[last] = true
		}
	}
	f.size = size
	return nil
}

// Size implements share.MutableFile.
func (f *chunkFile) Size() int64 { return f.size }

func (f *chunkFile) nchunks() int64 {
	if f.size == 0 {
		return 1
	}
	return (f.size + f.cs - 1) / f.cs
}

// Commit implements share.MutableFile. Every chunk whose content or
// length changed is PUT, highest chunk first and chunk 0 (which holds the
// header, and so the data length) last; then the chunks past the new end
// and any stale leftovers are deleted. A reader in another process can
// see a mix of old and new chunks while Commit runs; readers through
// this backend cannot, because they take the storage index's lock.
func (f *chunkFile) Commit(ctx context.Context) error {
	f.ctx = ctx
	n := f.nchunks()
	for i := int64(0); i < n; i++ {
		want := min(f.cs, f.size-i*f.cs)
		c, cached := f.cache[i]
		stored := int64(-1)
		if i < int64(len(f.lens)) {
			stored = f.lens[i]
		}
		if !cached && stored == want {
			continue
		}
		if !cached {
			var err error
			if c, err = f.load(i); err != nil {
				return err
			}
		}
		if int64(len(c)) < want {
			c = append(c, make([]byte, want-int64(len(c)))...)
		}
		c = c[:want]
		f.cache[i] = c
		if !f.dirty[i] && stored == want {
			continue
		}
		f.dirty[i] = true
	}
	var order []int64
	for i := range f.dirty {
		order = append(order, i)
	}
	sort.Slice(order, func(a, b int) bool { return order[a] > order[b] })
	for _, i := range order {
		if err := f.b.put(ctx, f.key(i), f.cache[i]); err != nil {
			return err
		}
	}
	lens := make([]int64, n)
	for i := int64(0); i < n; i++ {
		lens[i] = min(f.cs, f.size-i*f.cs)
	}
	for i := n; i < int64(len(f.lens)); i++ {
		f.stale = append(f.stale, i)
	}
	for _, i := range f.stale {
		if i < n {
			continue
		}
		if err := f.b.del(ctx, f.key(i)); err != nil {
			return err
		}
	}
	f.lens, f.stale = lens, nil
	f.dirty = map[int64]bool{}
	return nil
}

// Close implements share.MutableFile: it drops the cached chunks.
func (f *chunkFile) Close() error {
	f.cache, f.dirty = nil, nil
	return nil
}
