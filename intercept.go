package sharestore

import (
	"context"
	"io"
	"time"
)

// Hooks are what a backend made by Intercept calls. Either may be nil.
// They are called from the goroutines that make the requests, so they
// must be safe for concurrent use.
type Hooks struct {
	// Request is called before each request (see Request for what one
	// request is). If it returns an error, the request fails with that
	// error, unchanged, and does not reach the wrapped backend, with one
	// exception: ImmutableWriter.Abort still aborts, so that a refused
	// request never leaves an upload behind. Request must not modify
	// or keep r.IDs.
	Request func(ctx context.Context, r Request) error
	// Listed is called with each share a listing reports, before the
	// caller sees it: each ShareInfo that ListPrefix passes to its fn,
	// and each of the Shares of a PrefixListing that a scan returns.
	Listed func(ShareInfo)
	// Done, if set, is called when a request that reached the wrapped
	// backend returns, with its error (nil on success) and the time from
	// the call to its return. A ListPrefix includes the time its fn
	// took; a ReqScanPrefix is the time Next took. A request the Request
	// hook refused is not reported to Done.
	Done func(r Request, err error, elapsed time.Duration)
}

// Intercept returns a Backend that makes every request on b after
// calling h.Request, and reports the shares it lists to h.Listed. It is
// how a rate limiter, a request counter or a tracer is written once for
// every backend.
//
// The returned backend is a Wrapper whose Unwrap returns b, so Scan,
// ReadHeaders, MetaStoreOf and LocalRoot look through it. It is also a
// PrefixScanner and a HeaderReader: a scan calls h.Request once to start
// (ReqScan) and once for each prefix Next returns (ReqScanPrefix), and a
// batch of header reads calls it once (ReqReadHeaders); both then use
// Scan and ReadHeaders on b, so they keep b's own stream and batch paths
// where b has them and b's fallback where it has not. The MetaStore that
// MetaStoreOf finds through it passes ReqReadMeta and ReqWriteMeta to
// h.Request. Capabilities and Close go straight to b.
func Intercept(b Backend, h Hooks) Backend {
	return &intercepted{b: b, h: h}
}

type intercepted struct {
	b Backend
	h Hooks
}

// request calls the Request hook, if there is one.
func (ib *intercepted) request(ctx context.Context, r Request) error {
	if ib.h.Request == nil {
		return nil
	}
	return ib.h.Request(ctx, r)
}

// begin calls the Request hook for r and returns the time r starts, for
// end.
func (ib *intercepted) begin(ctx context.Context, r Request) (time.Time, error) {
	if err := ib.request(ctx, r); err != nil {
		return time.Time{}, err
	}
	if ib.h.Done == nil {
		return time.Time{}, nil
	}
	return time.Now(), nil
}

// end reports r, begun at start, to the Done hook, and returns err.
func (ib *intercepted) end(r Request, start time.Time, err error) error {
	if ib.h.Done != nil {
		ib.h.Done(r, err, time.Since(start))
	}
	return err
}

// listed reports shares to the Listed hook, if there is one.
func (ib *intercepted) listed(shares []ShareInfo) {
	if ib.h.Listed == nil {
		return
	}
	for _, i := range shares {
		ib.h.Listed(i)
	}
}

func (ib *intercepted) Unwrap() Backend { return ib.b }

func (ib *intercepted) ListPrefix(ctx context.Context, p Prefix, fn func(ShareInfo) error) error {
	r := Request{Op: ReqListPrefix, Prefix: p, Shnum: -1}
	start, err := ib.begin(ctx, r)
	if err != nil {
		return err
	}
	if ib.h.Listed == nil {
		return ib.end(r, start, ib.b.ListPrefix(ctx, p, fn))
	}
	return ib.end(r, start, ib.b.ListPrefix(ctx, p, func(i ShareInfo) error {
		ib.h.Listed(i)
		return fn(i)
	}))
}

func (ib *intercepted) SharesetsForPrefix(ctx context.Context, p Prefix) ([]StorageIndex, error) {
	r := Request{Op: ReqSharesets, Prefix: p, Shnum: -1}
	start, err := ib.begin(ctx, r)
	if err != nil {
		return nil, err
	}
	sis, err := ib.b.SharesetsForPrefix(ctx, p)
	return sis, ib.end(r, start, err)
}

func (ib *intercepted) Shareset(si StorageIndex) Shareset {
	return &interceptedSet{ib: ib, s: ib.b.Shareset(si), si: si}
}

func (ib *intercepted) AvailableSpace(ctx context.Context) (int64, error) {
	r := Request{Op: ReqAvailableSpace, Shnum: -1}
	start, err := ib.begin(ctx, r)
	if err != nil {
		return 0, err
	}
	n, err := ib.b.AvailableSpace(ctx)
	return n, ib.end(r, start, err)
}

func (ib *intercepted) Capabilities() Capabilities { return ib.b.Capabilities() }

func (ib *intercepted) Close() error { return ib.b.Close() }

func (ib *intercepted) ScanPrefixes(ctx context.Context, first Prefix, opts ScanOptions) (PrefixScan, error) {
	r := Request{Op: ReqScan, Prefix: first, Shnum: -1}
	start, err := ib.begin(ctx, r)
	if err != nil {
		return nil, err
	}
	s, err := Scan(ctx, ib.b, first, opts)
	if ib.end(r, start, err) != nil {
		return nil, err
	}
	return &interceptedScan{ib: ib, ctx: ctx, s: s, next: first.Index()}, nil
}

func (ib *intercepted) ReadHeaders(ctx context.Context, ids []ShareID, fn func(ShareID, Share, error)) error {
	return ib.readHeaders(ctx, ids, DefaultHeaderWorkers, fn)
}

// readHeaders is ReadHeaders with the caller's number of workers, for
// the fallback of the backend it wraps.
func (ib *intercepted) readHeaders(ctx context.Context, ids []ShareID, workers int, fn func(ShareID, Share, error)) error {
	r := Request{Op: ReqReadHeaders, IDs: ids, Shnum: -1}
	start, err := ib.begin(ctx, r)
	if err != nil {
		return err
	}
	return ib.end(r, start, ReadHeaders(ctx, ib.b, ids, workers, fn))
}

// interceptedScan is a scan of an intercepted backend: each Next is a
// ReqScanPrefix request.
type interceptedScan struct {
	ib   *intercepted
	ctx  context.Context
	s    PrefixScan
	next int // index of the prefix Next returns next
	err  error
}

func (s *interceptedScan) Next() (PrefixListing, error) {
	if s.err != nil {
		return PrefixListing{}, s.err
	}
	r := Request{Op: ReqScanPrefix, Prefix: PrefixAt(min(s.next, NumPrefixes-1)), Shnum: -1}
	var start time.Time
	if s.next < NumPrefixes {
		var err error
		if start, err = s.ib.begin(s.ctx, r); err != nil {
			s.err = err
			s.s.Close()
			return PrefixListing{}, err
		}
	}
	l, err := s.s.Next()
	if s.next < NumPrefixes {
		s.ib.end(r, start, err)
	}
	if err != nil {
		return l, err
	}
	s.next++
	s.ib.listed(l.Shares)
	return l, nil
}

func (s *interceptedScan) Close() error { return s.s.Close() }

type interceptedSet struct {
	ib *intercepted
	s  Shareset
	si StorageIndex
}

// req returns the request op on shnum of the shareset.
func (s *interceptedSet) req(op RequestOp, shnum int) Request {
	return Request{Op: op, SI: s.si, Shnum: shnum}
}

func (s *interceptedSet) StorageIndex() StorageIndex { return s.si }

func (s *interceptedSet) Shares(ctx context.Context) ([]Share, []int, error) {
	r := s.req(ReqShares, -1)
	start, err := s.ib.begin(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	shares, unreadable, err := s.s.Shares(ctx)
	return shares, unreadable, s.ib.end(r, start, err)
}

func (s *interceptedSet) Share(ctx context.Context, shnum int) (Share, error) {
	r := s.req(ReqShare, shnum)
	start, err := s.ib.begin(ctx, r)
	if err != nil {
		return Share{}, err
	}
	sh, err := s.s.Share(ctx, shnum)
	return sh, s.ib.end(r, start, err)
}

func (s *interceptedSet) ReadShareData(ctx context.Context, shnum int, offset, length int64) ([]byte, error) {
	r := s.req(ReqReadShareData, shnum)
	start, err := s.ib.begin(ctx, r)
	if err != nil {
		return nil, err
	}
	data, err := s.s.ReadShareData(ctx, shnum, offset, length)
	return data, s.ib.end(r, start, err)
}

func (s *interceptedSet) DeleteShare(ctx context.Context, shnum int, guard Guard) error {
	r := s.req(ReqDeleteShare, shnum)
	start, err := s.ib.begin(ctx, r)
	if err != nil {
		return err
	}
	return s.ib.end(r, start, s.s.DeleteShare(ctx, shnum, guard))
}

func (s *interceptedSet) WriteImmutable(ctx context.Context, shnum int, allocated int64) (ImmutableWriter, error) {
	r := s.req(ReqWriteImmutable, shnum)
	start, err := s.ib.begin(ctx, r)
	if err != nil {
		return nil, err
	}
	w, err := s.s.WriteImmutable(ctx, shnum, allocated)
	if s.ib.end(r, start, err) != nil {
		return nil, err
	}
	return &interceptedWriter{set: s, w: w, shnum: shnum}, nil
}

func (s *interceptedSet) TestAndReadAndWrite(ctx context.Context, we WriteEnabler, tw []TestAndWrite, reads []ReadRange) (bool, map[int][][]byte, error) {
	r := s.req(ReqTestAndReadAndWrite, -1)
	start, err := s.ib.begin(ctx, r)
	if err != nil {
		return false, nil, err
	}
	ok, data, err := s.s.TestAndReadAndWrite(ctx, we, tw, reads)
	return ok, data, s.ib.end(r, start, err)
}

func (s *interceptedSet) OpenRaw(ctx context.Context, shnum int) (io.ReadCloser, int64, error) {
	r := s.req(ReqOpenRaw, shnum)
	start, err := s.ib.begin(ctx, r)
	if err != nil {
		return nil, 0, err
	}
	rc, n, err := s.s.OpenRaw(ctx, shnum)
	return rc, n, s.ib.end(r, start, err)
}

func (s *interceptedSet) PutRaw(ctx context.Context, shnum int, r io.Reader, size int64) error {
	req := s.req(ReqPutRaw, shnum)
	start, err := s.ib.begin(ctx, req)
	if err != nil {
		return err
	}
	return s.ib.end(req, start, s.s.PutRaw(ctx, shnum, r, size))
}

type interceptedWriter struct {
	set   *interceptedSet
	w     ImmutableWriter
	shnum int
}

func (w *interceptedWriter) Write(ctx context.Context, offset int64, data []byte) error {
	r := w.set.req(ReqImmutableWrite, w.shnum)
	start, err := w.set.ib.begin(ctx, r)
	if err != nil {
		return err
	}
	return w.set.ib.end(r, start, w.w.Write(ctx, offset, data))
}

func (w *interceptedWriter) Close(ctx context.Context) error {
	r := w.set.req(ReqImmutableClose, w.shnum)
	start, err := w.set.ib.begin(ctx, r)
	if err != nil {
		return err
	}
	return w.set.ib.end(r, start, w.w.Close(ctx))
}

// Abort aborts even when the hook refuses, and then returns the hook's
// error if the abort itself succeeded.
func (w *interceptedWriter) Abort(ctx context.Context) error {
	r := w.set.req(ReqImmutableAbort, w.shnum)
	start, herr := w.set.ib.begin(ctx, r)
	err := w.w.Abort(ctx)
	if herr == nil {
		w.set.ib.end(r, start, err)
	}
	if err != nil {
		return err
	}
	return herr
}

// interceptedMeta is the MetaStore that MetaStoreOf finds through an
// intercepted backend.
type interceptedMeta struct {
	ib *intercepted
	m  MetaStore
}

func (m interceptedMeta) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	r := Request{Op: ReqReadMeta, Name: name, Shnum: -1}
	start, err := m.ib.begin(ctx, r)
	if err != nil {
		return nil, err
	}
	data, err := m.m.ReadMeta(ctx, name)
	return data, m.ib.end(r, start, err)
}

func (m interceptedMeta) WriteMeta(ctx context.Context, name string, data []byte) error {
	r := Request{Op: ReqWriteMeta, Name: name, Shnum: -1}
	start, err := m.ib.begin(ctx, r)
	if err != nil {
		return err
	}
	return m.ib.end(r, start, m.m.WriteMeta(ctx, name, data))
}
