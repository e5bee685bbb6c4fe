package plugin

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// ScanPrefixes implements sharestore.PrefixScanner: the whole scan is one
// ScanPrefixes stream, on which the host grants the plugin credit to list
// opts.Ahead prefixes before Next asks for them. One goroutine receives
// and decodes the plugin's pages, so that work overlaps the caller's. A
// listing older than opts.MaxAge (measured from the grant that allowed
// it) is made again with a ListPrefix call.
func (b *client) ScanPrefixes(ctx context.Context, first sharestore.Prefix, opts sharestore.ScanOptions) (sharestore.PrefixScan, error) {
	i := first.Index()
	if i < 0 {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "invalid prefix %q", string(first))
	}
	inst, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	stream, err := inst.rpc.ScanPrefixes(sctx)
	if err != nil {
		cancel()
		return nil, b.rpcErr(ctx, inst, err, "scan from prefix "+string(first))
	}
	opts.Ahead = max(opts.Ahead, 0)
	if opts.MaxAge <= 0 {
		opts.MaxAge = sharestore.DefaultScanMaxAge
	}
	s := &scan{b: b, inst: inst, ctx: sctx, cancel: cancel, stream: stream, opts: opts, next: i, granted: i,
		ready: make(chan received, opts.Ahead+2), done: make(chan struct{})}
	if err := stream.Send(&pb.ScanRequest{First: string(first), Sharesets: opts.Sharesets, Ahead: int32(opts.Ahead)}); err != nil {
		cancel()
		return nil, b.rpcErr(ctx, inst, err, "scan from prefix "+string(first))
	}
	s.topUp(i + opts.Ahead)
	go s.receive(i)
	return s, nil
}

// scan is a PrefixScan over one ScanPrefixes stream. Next and Close run
// on the caller's goroutine and send credit; receive runs on its own
// and is the stream's only reader.
type scan struct {
	b      *client
	inst   *instance
	ctx    context.Context
	cancel context.CancelFunc
	stream pb.Backend_ScanPrefixesClient
	opts   sharestore.ScanOptions
	ready  chan received // whole listings in prefix order, then at most one error
	done   chan struct{} // closed when receive returns
	once   sync.Once

	next    int         // index of the prefix Next returns next
	granted int         // index past the last prefix the plugin may list
	grants  []time.Time // when prefixes next..granted-1 were granted
	err     error
}

// received is one prefix's listing as receive assembled it, or the
// error that ended the stream.
type received struct {
	l   sharestore.PrefixListing
	err error
}

// topUp grants credit up to the prefix before index target. A failed
// Send is not reported here: the stream's Recv reports why it broke.
func (s *scan) topUp(target int) {
	target = min(target, sharestore.NumPrefixes)
	if n := target - s.granted; n > 0 {
		_ = s.stream.Send(&pb.ScanRequest{Credit: int32(n)})
		now := time.Now()
		for ; s.granted < target; s.granted++ {
			s.grants = append(s.grants, now)
		}
	}
}

// receive reads the stream from prefix index i to the last prefix and
// hands each whole listing to Next. The plugin lists only what Next has
// granted, at most opts.Ahead+1 prefixes beyond the one Next returns
// next, so ready never fills.
func (s *scan) receive(i int) {
	defer close(s.done)
	put := func(r received) bool {
		select {
		case s.ready <- r:
			return true
		case <-s.ctx.Done():
			return false
		}
	}
	l := sharestore.PrefixListing{Prefix: sharestore.PrefixAt(i)}
	for i < sharestore.NumPrefixes {
		what := "scan prefix " + string(l.Prefix)
		page, err := s.stream.Recv()
		if err == io.EOF {
			if err = sharestore.CtxErr(s.ctx); err == nil {
				err = sharestore.Errorf(sharestore.ErrInternal, "%s: plugin %s ended the scan early", what, s.b.path)
			}
		} else if err != nil {
			err = s.b.rpcErr(s.ctx, s.inst, err, what)
		}
		for _, part := range page.GetParts() {
			if err != nil {
				break
			}
			if i >= sharestore.NumPrefixes || part.Prefix != string(l.Prefix) {
				err = sharestore.Errorf(sharestore.ErrInternal, "%s: plugin %s sent prefix %q", what, s.b.path, part.Prefix)
				break
			}
			n := len(l.Shares)
			if l.Shares, err = unpackShares(l.Shares, part.Shares); err == nil {
				err = setVersions(l.Shares[n:], part.Versions)
			}
			if err == nil {
				l.Sharesets, err = unpackSharesets(l.Sharesets, part.Sis)
			}
			if err == nil && part.End {
				if !put(received{l: l}) {
					return
				}
				i++
				l = sharestore.PrefixListing{}
				if i < sharestore.NumPrefixes {
					l.Prefix = sharestore.PrefixAt(i)
				}
			}
		}
		if err != nil {
			put(received{err: err})
			return
		}
	}
}

func (s *scan) fail(err error) (sharestore.PrefixListing, error) {
	s.err = err
	s.Close()
	return sharestore.PrefixListing{}, err
}

// Next implements sharestore.PrefixScan.
func (s *scan) Next() (sharestore.PrefixListing, error) {
	if s.err != nil {
		return sharestore.PrefixListing{}, s.err
	}
	if s.next >= sharestore.NumPrefixes {
		return sharestore.PrefixListing{}, io.EOF
	}
	s.topUp(s.next + 1)
	var r received
	select {
	case r = <-s.ready:
	case <-s.ctx.Done():
		r.err = sharestore.CtxErr(s.ctx)
	}
	if r.err != nil {
		return s.fail(r.err)
	}
	granted := s.grants[0]
	s.grants = s.grants[1:]
	s.next++
	// Credit goes out in batches of half the window, so the plugin is
	// woken once per several prefixes rather than once per prefix. The
	// plugin relies on this rule (ScanRequest.ahead in backend.proto) to
	// hold back only the listings Next cannot ask for before the next
	// grant.
	if s.granted-s.next <= s.opts.Ahead/2 {
		s.topUp(s.next + s.opts.Ahead)
	}
	if time.Since(granted) > s.opts.MaxAge {
		fresh, err := sharestore.ListOne(s.ctx, s.b.layer, r.l.Prefix, s.opts.Sharesets)
		if err != nil {
			return s.fail(err)
		}
		return fresh, nil
	}
	return r.l, nil
}

// Close implements sharestore.PrefixScan: it ends the stream and waits
// for the receiving goroutine.
func (s *scan) Close() error {
	s.once.Do(func() {
		s.cancel()
		<-s.done
	})
	return nil
}

// headerBatch is the most share headers asked for in one ReadHeaders
// call, so that a request stays far below the message limit.
const headerBatch = pageSize

// ReadHeaders implements sharestore.HeaderReader: the headers are read
// in the plugin, several at a time, and come back on one stream per
// batch of up to 1000 shares.
func (b *client) ReadHeaders(ctx context.Context, ids []sharestore.ShareID, fn func(sharestore.ShareID, sharestore.Share, error)) error {
	for len(ids) > 0 {
		n := min(len(ids), headerBatch)
		if err := b.readHeaders(ctx, ids[:n], fn); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

func (b *client) readHeaders(ctx context.Context, ids []sharestore.ShareID, fn func(sharestore.ShareID, sharestore.Share, error)) error {
	inst, err := b.get(ctx)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("read %d share headers", len(ids))
	req := &pb.ReadHeadersRequest{Shares: make([]*pb.ShareRef, len(ids))}
	for k, id := range ids {
		req.Shares[k] = &pb.ShareRef{Si: id.SI[:], Shnum: int32(id.Shnum)}
	}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := inst.rpc.ReadHeaders(ctx2, req)
	if err != nil {
		return b.rpcErr(ctx, inst, err, what)
	}
	got := 0
	for {
		page, err := stream.Recv()
		if err == io.EOF {
			if err := sharestore.CtxErr(ctx); err != nil {
				return err
			}
			if got != len(ids) {
				return sharestore.Errorf(sharestore.ErrInternal, "%s: plugin %s returned %d", what, b.path, got)
			}
			return nil
		}
		if err != nil {
			return b.rpcErr(ctx, inst, err, what)
		}
		got += len(page.Results)
		for _, r := range page.Results {
			si, err := siFromPB(r.GetRef().GetSi())
			if err != nil {
				return err
			}
			id := sharestore.ShareID{SI: si, Shnum: int(r.GetRef().GetShnum())}
			if r.Error != nil {
				fn(id, sharestore.Share{}, &sharestore.Error{Code: sharestore.ParseCode(r.Error.Code), Msg: r.Error.Message})
				continue
			}
			sh, err := shareFromPB(r.GetShare())
			if err != nil {
				return err
			}
			fn(id, sh, nil)
		}
	}
}
