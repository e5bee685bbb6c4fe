package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// shareset is the host-side handle of one storage index in a plugin.
type shareset struct {
	b  *client
	si sharestore.StorageIndex
}

func (s *shareset) what(op string, shnum int) string {
	return fmt.Sprintf("%s %s/%d", op, s.si, shnum)
}

// Shares implements driver.Driver.
func (b *client) Shares(ctx context.Context, si sharestore.StorageIndex) ([]sharestore.Share, []int, error) {
	return b.set(si).shares(ctx)
}

func (s *shareset) shares(ctx context.Context) ([]sharestore.Share, []int, error) {
	inst, err := s.b.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := inst.rpc.Shares(ctx, &pb.SharesRequest{Si: s.si[:]})
	if err != nil {
		return nil, nil, s.b.rpcErr(ctx, inst, err, "shares "+s.si.String())
	}
	var shares []sharestore.Share
	for _, p := range resp.Shares {
		sh, err := shareFromPB(p)
		if err != nil {
			return nil, nil, err
		}
		shares = append(shares, sh)
	}
	var corrupt []int
	for _, c := range resp.Corrupt {
		corrupt = append(corrupt, int(c))
	}
	return shares, corrupt, nil
}

// Share implements driver.Driver.
func (b *client) Share(ctx context.Context, si sharestore.StorageIndex, shnum int) (sharestore.Share, error) {
	return b.set(si).share(ctx, shnum)
}

func (s *shareset) share(ctx context.Context, shnum int) (sharestore.Share, error) {
	inst, err := s.b.get(ctx)
	if err != nil {
		return sharestore.Share{}, err
	}
	resp, err := inst.rpc.Share(ctx, &pb.ShareRequest{Si: s.si[:], Shnum: int32(shnum)})
	if err != nil {
		return sharestore.Share{}, s.b.rpcErr(ctx, inst, err, s.what("share", shnum))
	}
	return shareFromPB(resp.Share)
}

// ReadShareData implements driver.Driver.
func (b *client) ReadShareData(ctx context.Context, si sharestore.StorageIndex, shnum int, offset, length int64) ([]byte, error) {
	return b.set(si).readShareData(ctx, shnum, offset, length)
}

func (s *shareset) readShareData(ctx context.Context, shnum int, offset, length int64) ([]byte, error) {
	inst, err := s.b.get(ctx)
	if err != nil {
		return nil, err
	}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := inst.rpc.ReadShareData(ctx2, &pb.ReadShareDataRequest{Si: s.si[:], Shnum: int32(shnum), Offset: offset, Length: length})
	if err != nil {
		return nil, s.b.rpcErr(ctx, inst, err, s.what("read", shnum))
	}
	out := []byte{}
	for {
		c, err := stream.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, s.b.rpcErr(ctx, inst, err, s.what("read", shnum))
		}
		out = append(out, c.Data...)
	}
}

// Stat implements driver.Driver with the plugin's StatShare, for the
// guard of a DeleteShare, which the shared layer runs on the host under
// the host's lock of the storage index (see guard.go). A plugin too old
// for StatShare refuses guarded deletes (ErrUnimplemented) rather than
// delete unchecked.
func (b *client) Stat(ctx context.Context, si sharestore.StorageIndex, shnum int) (sharestore.ShareInfo, error) {
	s := b.set(si)
	info, ok, err := s.stat(ctx, shnum)
	if err == nil && !ok {
		err = sharestore.Errorf(sharestore.ErrNotFound, "%s: plugin %s has no such share", s.what("stat", shnum), b.path)
	}
	return info, err
}

// Delete implements driver.Driver. When a guard approved the share, the
// request carries what it saw, and the plugin deletes only if, under its
// own lock, the share is still that one.
func (b *client) Delete(ctx context.Context, si sharestore.StorageIndex, shnum int, expected *sharestore.ShareInfo) error {
	s := b.set(si)
	req := &pb.DeleteShareRequest{Si: si[:], Shnum: int32(shnum)}
	if expected != nil {
		req.Expected = infoToPB(*expected)
	}
	inst, err := b.get(ctx)
	if err != nil {
		return err
	}
	if _, err := inst.rpc.DeleteShare(ctx, req); err != nil {
		return b.rpcErr(ctx, inst, err, s.what("delete", shnum))
	}
	return nil
}

// stat asks the plugin for shnum's current listing information, and
// whether it exists.
func (s *shareset) stat(ctx context.Context, shnum int) (sharestore.ShareInfo, bool, error) {
	inst, err := s.b.get(ctx)
	if err != nil {
		return sharestore.ShareInfo{}, false, err
	}
	resp, err := inst.rpc.StatShare(ctx, &pb.StatShareRequest{Si: s.si[:], Shnum: int32(shnum)})
	if err != nil {
		err = s.b.rpcErr(ctx, inst, err, s.what("stat", shnum))
		if errors.Is(err, sharestore.ErrUnimplemented) {
			err = sharestore.Wrap(sharestore.ErrUnimplemented, err, fmt.Sprintf("%s: plugin %s cannot look a share up for a guarded delete (no StatShare); upgrade it", s.what("delete", shnum), s.b.path))
		}
		return sharestore.ShareInfo{}, false, err
	}
	if !resp.Exists {
		return sharestore.ShareInfo{}, false, nil
	}
	info, err := infoFromPB(resp.Info)
	if err != nil {
		return sharestore.ShareInfo{}, false, err
	}
	if info.SI != s.si || info.Shnum != shnum {
		return sharestore.ShareInfo{}, false, sharestore.Errorf(sharestore.ErrInternal, "%s: plugin %s described share %s/%d instead", s.what("stat", shnum), s.b.path, info.SI, info.Shnum)
	}
	return info, true, nil
}

// TestAndReadAndWrite implements driver.SlotOperator: the plugin runs the
// slot operation, under the host's lock of the storage index and its own.
func (b *client) TestAndReadAndWrite(ctx context.Context, si sharestore.StorageIndex, we sharestore.WriteEnabler, tw []sharestore.TestAndWrite, reads []sharestore.ReadRange) (bool, map[int][][]byte, error) {
	s := b.set(si)
	inst, err := s.b.get(ctx)
	if err != nil {
		return false, nil, err
	}
	req := &pb.TestAndReadAndWriteRequest{Si: s.si[:], WriteEnabler: we[:]}
	for _, t := range tw {
		p := &pb.TestAndWrite{Shnum: int32(t.Shnum)}
		for _, tv := range t.Tests {
			p.Tests = append(p.Tests, &pb.TestVector{Offset: tv.Offset, Length: tv.Length, Op: string(tv.Op), Specimen: tv.Specimen})
		}
		for _, dv := range t.Writes {
			p.Writes = append(p.Writes, &pb.DataVector{Offset: dv.Offset, Data: dv.Data})
		}
		if t.NewLength != nil {
			p.HasNewLength, p.NewLength = true, *t.NewLength
		}
		req.Tw = append(req.Tw, p)
	}
	for _, r := range reads {
		req.Reads = append(req.Reads, &pb.ReadRange{Offset: r.Offset, Length: r.Length})
	}
	resp, err := inst.rpc.TestAndReadAndWrite(ctx, req)
	if err != nil {
		return false, nil, s.b.rpcErr(ctx, inst, err, "test-and-read-and-write "+s.si.String())
	}
	got := make(map[int][][]byte, len(resp.Reads))
	for k, v := range resp.Reads {
		got[int(k)] = v.Data
	}
	return resp.Ok, got, nil
}

type rawReader struct {
	stream pb.Backend_OpenRawClient
	cancel context.CancelFunc
	ctx    context.Context
	s      *shareset
	inst   *instance
	shnum  int
	buf    []byte
	err    error
}

func (r *rawReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		c, err := r.stream.Recv()
		if err == io.EOF {
			r.err = io.EOF
			continue
		}
		if err != nil {
			r.err = r.s.b.rpcErr(r.ctx, r.inst, err, r.s.what("read raw", r.shnum))
			continue
		}
		r.buf = c.Data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *rawReader) Close() error {
	r.cancel()
	return nil
}

// OpenRaw implements driver.Driver.
func (b *client) OpenRaw(ctx context.Context, si sharestore.StorageIndex, shnum int) (io.ReadCloser, int64, error) {
	return b.set(si).openRaw(ctx, shnum)
}

func (s *shareset) openRaw(ctx context.Context, shnum int) (io.ReadCloser, int64, error) {
	inst, err := s.b.get(ctx)
	if err != nil {
		return nil, 0, err
	}
	ctx2, cancel := context.WithCancel(ctx)
	stream, err := inst.rpc.OpenRaw(ctx2, &pb.OpenRawRequest{Si: s.si[:], Shnum: int32(shnum)})
	if err != nil {
		cancel()
		return nil, 0, s.b.rpcErr(ctx, inst, err, s.what("open raw", shnum))
	}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		if err == io.EOF {
			err = errors.New("plugin sent no size")
		}
		return nil, 0, s.b.rpcErr(ctx, inst, err, s.what("open raw", shnum))
	}
	return &rawReader{stream: stream, cancel: cancel, ctx: ctx, s: s, inst: inst, shnum: shnum, buf: first.Data}, first.Size, nil
}

// StagePut implements driver.Driver. The host stages nothing: Commit,
// under the host's lock of the storage index, streams r to the plugin,
// which stages and commits under its own.
func (b *client) StagePut(ctx context.Context, si sharestore.StorageIndex, shnum int, r io.Reader, size int64) (driver.Staged, error) {
	return &put{s: b.set(si), shnum: shnum, r: r, size: size}, nil
}

// put is a PutRaw that streams at Commit.
type put struct {
	s     *shareset
	shnum int
	r     io.Reader
	size  int64
}

// Commit implements driver.Staged.
func (p *put) Commit(ctx context.Context) error { return p.s.putRaw(ctx, p.shnum, p.r, p.size) }

// Discard implements driver.Staged.
func (p *put) Discard() {}

// putRaw streams r to the plugin in chunks, then commits. It sends at
// most size+1 bytes: enough for the plugin to see a reader that is too
// long.
func (s *shareset) putRaw(ctx context.Context, shnum int, r io.Reader, size int64) error {
	inst, err := s.b.get(ctx)
	if err != nil {
		return err
	}
	what := s.what("put raw", shnum)
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := inst.rpc.PutRaw(ctx2)
	if err != nil {
		return s.b.rpcErr(ctx, inst, err, what)
	}
	finish := func() error {
		if _, err := stream.CloseAndRecv(); err != nil {
			return s.b.rpcErr(ctx, inst, err, what)
		}
		return nil
	}
	if err := stream.Send(&pb.PutRawRequest{Op: &pb.PutRawRequest_Header_{Header: &pb.PutRawRequest_Header{Si: s.si[:], Shnum: int32(shnum), Size: size}}}); err != nil {
		return finish()
	}
	buf := make([]byte, chunkSize)
	lr := io.LimitReader(r, max(size, 0)+1)
	for {
		n, rerr := io.ReadFull(lr, buf)
		if n > 0 {
			if err := stream.Send(&pb.PutRawRequest{Op: &pb.PutRawRequest_Data{Data: append([]byte(nil), buf[:n]...)}}); err != nil {
				return finish()
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			stream.Send(&pb.PutRawRequest{Op: &pb.PutRawRequest_Abort{Abort: true}})
			finish()
			return sharestore.Wrap(sharestore.ErrInvalidArgument, rerr, what+": reading the source")
		}
	}
	if err := stream.Send(&pb.PutRawRequest{Op: &pb.PutRawRequest_Commit{Commit: true}}); err != nil {
		return finish()
	}
	return finish()
}

// writer is the host side of a WriteImmutable session.
type writer struct {
	s      *shareset
	inst   *instance
	shnum  int
	stream pb.Backend_WriteImmutableClient
	cancel context.CancelFunc

	mu       sync.Mutex
	finished bool  // committed or aborted
	broken   error // the session's stream failed
}

// StartImmutable implements driver.Driver with one WriteImmutable
// session; its commit runs under the host's lock of the storage index.
func (b *client) StartImmutable(ctx context.Context, si sharestore.StorageIndex, shnum int, allocated int64) (driver.Upload, error) {
	s := b.set(si)
	inst, err := s.b.get(ctx)
	if err != nil {
		return nil, err
	}
	// The session outlives this call; each operation's own context
	// bounds that operation.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stream, err := inst.rpc.WriteImmutable(sctx)
	if err != nil {
		cancel()
		return nil, s.b.rpcErr(ctx, inst, err, s.what("write", shnum))
	}
	w := &writer{s: s, inst: inst, shnum: shnum, stream: stream, cancel: cancel}
	open := &pb.WriteImmutableRequest{Op: &pb.WriteImmutableRequest_Open_{Open: &pb.WriteImmutableRequest_Open{Si: s.si[:], Shnum: int32(shnum), Allocated: allocated}}}
	if err := w.do(ctx, open); err != nil {
		cancel()
		return nil, err
	}
	return w, nil
}

// do sends reqs and waits for one answer to each; it returns the first
// error.
func (w *writer) do(ctx context.Context, reqs ...*pb.WriteImmutableRequest) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	if w.broken != nil {
		return w.broken
	}
	stop := context.AfterFunc(ctx, w.cancel)
	defer stop()
	what := w.s.what("write", w.shnum)
	fail := func(err error) error {
		if err == io.EOF {
			_, err = w.stream.Recv()
			if err == nil || err == io.EOF {
				err = errors.New("plugin ended the write session")
			}
		}
		w.broken = w.s.b.rpcErr(ctx, w.inst, err, what)
		w.cancel()
		return w.broken
	}
	for _, r := range reqs {
		if err := w.stream.Send(r); err != nil {
			return fail(err)
		}
	}
	var first error
	for range reqs {
		resp, err := w.stream.Recv()
		if err != nil {
			return fail(err)
		}
		if d := resp.Error; d != nil && first == nil {
			first = &sharestore.Error{Code: sharestore.ParseCode(d.Code), Msg: d.Message}
		}
	}
	return first
}

func (w *writer) Write(ctx context.Context, offset int64, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: write after close", w.s.what("write", w.shnum))
	}
	var reqs []*pb.WriteImmutableRequest
	for {
		n := min(len(data), chunkSize)
		reqs = append(reqs, &pb.WriteImmutableRequest{Op: &pb.WriteImmutableRequest_Write_{Write: &pb.WriteImmutableRequest_Write{Offset: offset, Data: data[:n]}}})
		offset += int64(n)
		data = data[n:]
		if len(data) == 0 {
			break
		}
	}
	return w.do(ctx, reqs...)
}

// Commit implements driver.Upload.
func (w *writer) Commit(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished {
		return nil
	}
	if err := w.do(ctx, &pb.WriteImmutableRequest{Op: &pb.WriteImmutableRequest_Commit{Commit: true}}); err != nil {
		return err
	}
	w.finished = true
	w.stream.CloseSend()
	w.cancel()
	return nil
}

func (w *writer) Abort(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished || w.broken != nil {
		// A broken session was aborted by the plugin when it ended.
		w.finished = true
		w.cancel()
		return nil
	}
	err := w.do(ctx, &pb.WriteImmutableRequest{Op: &pb.WriteImmutableRequest_Abort{Abort: true}})
	w.finished = true
	w.stream.CloseSend()
	w.cancel()
	return err
}
