package cloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
	"github.com/sharestore/sharestore/share"
)

type shareset struct {
	b  *chunked
	si sharestore.StorageIndex
}

func (s *shareset) what(shnum int) string {
	return fmt.Sprintf("%s: share %s/%d", s.b.opts.Name, s.si, shnum)
}

// listAll lists shares/PP/SI/ once and groups the chunks by shnum.
func (s *shareset) listAll(ctx context.Context) (sharesetListing, error) {
	sl := sharesetListing{}
	err := s.b.listObjects(ctx, siKey(s.si), func(rel string, o Object) error {
		if ref, ok := parseChunkKey(rel); ok && ref.SI == s.si {
			sl.add(ref, o)
		}
		return nil
	})
	return sl, err
}

// listShare lists the chunks of exactly shnum: the listing prefix
// shares/PP/SI/N also matches N0…N9…, which are filtered out.
func (s *shareset) listShare(ctx context.Context, shnum int) (chunkSet, error) {
	cs := chunkSet{}
	err := s.b.listObjects(ctx, siKey(s.si)+strconv.Itoa(shnum), func(rel string, o Object) error {
		if ref, ok := parseChunkKey(rel); ok && ref.SI == s.si && ref.Shnum == shnum {
			cs[ref.Chunk] = o
		}
		return nil
	})
	return cs, err
}

// openShare lists shnum and opens it, or returns ErrNotFound.
func (s *shareset) openShare(ctx context.Context, shnum int) (*chunkFile, layout, error) {
	cs, err := s.listShare(ctx, shnum)
	if err != nil {
		return nil, layout{}, err
	}
	l, ok := layoutOf(cs)
	if !ok {
		return nil, l, sharestore.Errorf(sharestore.ErrNotFound, "%s does not exist", s.what(shnum))
	}
	return s.b.openChunkFile(ctx, s.si, shnum, l), l, nil
}

// classify reads at most the header of f and parses it.
func (s *shareset) classify(f *chunkFile, shnum int) (share.Header, error) {
	head := make([]byte, min(f.size, share.HeaderReadSize))
	if _, err := f.ReadAt(head, 0); err != nil && !(errors.Is(err, io.EOF) && f.size <= share.HeaderReadSize) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return share.Header{}, sharestore.Errorf(sharestore.ErrCorrupt, "%s: chunks shorter than listed", s.what(shnum))
		}
		return share.Header{}, err
	}
	h, err := share.Classify(head, f.size)
	if err != nil {
		return h, sharestore.Wrap(sharestore.CodeOf(err), err, s.what(shnum))
	}
	return h, nil
}

func toShare(si sharestore.StorageIndex, shnum int, l layout, h share.Header) sharestore.Share {
	return sharestore.Share{
		ShareInfo:  l.info(si, shnum),
		Type:       h.Type,
		Version:    h.Version,
		DataLength: h.DataLength,
	}
}

// Shares implements driver.Driver: one listing of the storage index,
// then a ranged read of each share's header.
func (b *chunked) Shares(ctx context.Context, si sharestore.StorageIndex) ([]sharestore.Share, []int, error) {
	return b.set(si).sharesLocked(ctx)
}

func (s *shareset) sharesLocked(ctx context.Context) ([]sharestore.Share, []int, error) {
	sl, err := s.listAll(ctx)
	if err != nil {
		return nil, nil, err
	}
	return driver.ClassifyAll(ctx, sl.infos(s.si), func(info sharestore.ShareInfo) (sharestore.Share, error) {
		l, _ := layoutOf(sl[info.Shnum])
		h, err := s.classify(s.b.openChunkFile(ctx, s.si, info.Shnum, l), info.Shnum)
		if err != nil {
			return sharestore.Share{}, err
		}
		return toShare(s.si, info.Shnum, l, h), nil
	})
}

// Share implements driver.Driver.
func (b *chunked) Share(ctx context.Context, si sharestore.StorageIndex, shnum int) (sharestore.Share, error) {
	s := b.set(si)
	f, l, err := s.openShare(ctx, shnum)
	if err != nil {
		return sharestore.Share{}, err
	}
	h, err := s.classify(f, shnum)
	if err != nil {
		return sharestore.Share{}, err
	}
	return toShare(si, shnum, l, h), nil
}

// ReadShareData implements driver.Driver with ranged reads of the chunks
// that hold the range.
func (b *chunked) ReadShareData(ctx context.Context, si sharestore.StorageIndex, shnum int, offset, length int64) ([]byte, error) {
	s := b.set(si)
	f, _, err := s.openShare(ctx, shnum)
	if err != nil {
		return nil, err
	}
	h, err := s.classify(f, shnum)
	if err != nil {
		return nil, err
	}
	data, err := share.ReadData(f, h, offset, length)
	if err != nil {
		return nil, sharestore.Wrap(sharestore.CodeOf(err), err, s.what(shnum))
	}
	return data, nil
}

// Stat implements driver.Driver: the share as a listing of its chunks
// shows it; a share without chunk 0 does not exist.
func (b *chunked) Stat(ctx context.Context, si sharestore.StorageIndex, shnum int) (sharestore.ShareInfo, error) {
	s := b.set(si)
	cs, err := s.listShare(ctx, shnum)
	if err != nil {
		return sharestore.ShareInfo{}, err
	}
	l, ok := layoutOf(cs)
	if !ok {
		return sharestore.ShareInfo{}, sharestore.Errorf(sharestore.ErrNotFound, "%s does not exist", s.what(shnum))
	}
	return l.info(si, shnum), nil
}

// Delete implements driver.Driver. It lists the share's chunks; a share
// without chunk 0 does not exist, so nothing is deleted. Chunk 0 goes
// first, so the share disappears at once; where the store supports
// conditional deletes and a guard saw the share (expected), that delete
// is conditional on the Version the guard saw, and a share rewritten in
// between is ErrConflict and stays whole. The other chunks follow. A
// delete that is interrupted leaves only invisible, uncounted chunks,
// which the next write of that shnum removes.
func (b *chunked) Delete(ctx context.Context, si sharestore.StorageIndex, shnum int, expected *sharestore.ShareInfo) error {
	s := b.set(si)
	cs, err := s.listShare(ctx, shnum)
	if err != nil {
		return err
	}
	l, exists := layoutOf(cs)
	if !exists {
		return nil
	}
	version := l.version
	if expected != nil {
		version = expected.Version
	}
	return s.deleteChunks(ctx, shnum, cs, version)
}

// deleteLocked deletes shnum as it is listed now, if it exists.
func (s *shareset) deleteLocked(ctx context.Context, shnum int) error {
	cs, err := s.listShare(ctx, shnum)
	if err != nil {
		return err
	}
	if _, exists := layoutOf(cs); !exists {
		return nil
	}
	return s.deleteChunks(ctx, shnum, cs, cs[0].Version)
}

// deleteChunks deletes the chunks of cs, chunk 0 first and conditional
// on version (see Backend.delIf). If chunk 0 holds another version, the
// share was rewritten since cs was listed: nothing is deleted and the
// error is ErrConflict.
func (s *shareset) deleteChunks(ctx context.Context, shnum int, cs chunkSet, version string) error {
	if _, ok := cs[0]; ok {
		if err := s.b.delIf(ctx, ChunkKey(s.si, shnum, 0), version); err != nil {
			if sharestore.CodeOf(err) == sharestore.ErrConflict {
				return sharestore.Wrap(sharestore.ErrConflict, err, fmt.Sprintf("%s changed since it was listed (chunk 0 is no longer version %s); not deleted", s.what(shnum), version))
			}
			return err
		}
	}
	for i := range cs {
		if i == 0 {
			continue
		}
		if err := s.b.del(ctx, ChunkKey(s.si, shnum, i)); err != nil {
			return err
		}
	}
	return nil
}

// OpenRaw implements driver.Driver: the chunks are fetched one at a
// time as the reader advances.
func (b *chunked) OpenRaw(ctx context.Context, si sharestore.StorageIndex, shnum int) (io.ReadCloser, int64, error) {
	f, l, err := b.set(si).openShare(ctx, shnum)
	if err != nil {
		return nil, 0, err
	}
	return &rawReader{f: f, l: l}, l.size, nil
}

type rawReader struct {
	f   *chunkFile
	l   layout
	i   int64
	buf []byte
}

func (r *rawReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.i >= int64(len(r.l.sizes)) {
			return 0, io.EOF
		}
		c, err := r.f.b.get(r.f.ctx, r.f.key(r.i), 0, -1)
		if err != nil {
			return 0, err
		}
		if int64(len(c)) != r.l.sizes[r.i] {
			return 0, sharestore.Errorf(sharestore.ErrUnavailable, "%s: chunk %d changed while being read (%d bytes, listed %d)", r.f.b.opts.Name, r.i, len(c), r.l.sizes[r.i])
		}
		r.buf = c
		r.i++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *rawReader) Close() error { r.buf = nil; return nil }

// SlotStore implements driver.SlotDriver: the shared slot algorithm
// over chunked files.
func (b *chunked) SlotStore(ctx context.Context, si sharestore.StorageIndex) (share.SlotStore, share.SlotOptions, error) {
	return &slotStore{s: b.set(si)}, share.SlotOptions{NodeID: b.opts.NodeID, Version: b.opts.ContainerVersion}, nil
}

type slotStore struct{ s *shareset }

func (st *slotStore) Shares(ctx context.Context) ([]sharestore.Share, []int, error) {
	return st.s.sharesLocked(ctx)
}

func (st *slotStore) Open(ctx context.Context, shnum int) (share.MutableFile, error) {
	f, _, err := st.s.openShare(ctx, shnum)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Create starts a new share whose chunks are written by Commit. Stale
// chunks of an earlier share with the same shnum are deleted by Commit.
func (st *slotStore) Create(ctx context.Context, shnum int, container []byte) (share.MutableFile, error) {
	cs, err := st.s.listShare(ctx, shnum)
	if err != nil {
		return nil, err
	}
	l, exists := layoutOf(cs)
	if exists {
		return nil, sharestore.Errorf(sharestore.ErrConflict, "%s already exists", st.s.what(shnum))
	}
	f := st.s.b.openChunkFile(ctx, st.s.si, shnum, layout{stale: l.stale})
	f.cs = st.s.b.opts.ChunkSize
	if _, err := f.WriteAt(container, 0); err != nil {
		return nil, err
	}
	return f, nil
}

func (st *slotStore) Delete(ctx context.Context, shnum int) error {
	return st.s.deleteLocked(ctx, shnum)
}
