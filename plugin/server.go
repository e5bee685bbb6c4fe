package plugin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sharestore/sharestore"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// Config is what a host passes to a plugin through the Configure RPC.
type Config struct {
	// URL names the store, in the backend's own form, such as
	// "disk:/srv/storage".
	URL string
	// Create allows the store to be created if it does not exist.
	Create bool
	// Options are backend-specific settings.
	Options map[string]string
	// Secrets are credentials. They travel only in the Configure RPC,
	// never in argv or the environment.
	Secrets map[string]string
	// Logger is where the backend logs. The host never sends it: in a
	// plugin process, Serve sets it to the plugin's logger (JSON lines on
	// stderr at the host's level, which the host re-emits through its
	// own; see HostOptions.Logger), which is also slog.Default() there.
	Logger *slog.Logger
}

// Factory opens the backend a plugin serves, from the configuration the
// host sent. The plugin closes the backend when it is reconfigured or
// exits.
type Factory func(ctx context.Context, cfg Config) (sharestore.Backend, error)

// server adapts a sharestore.Backend to the sharestore.backend.v1 service.
type server struct {
	pb.UnimplementedBackendServer
	factory Factory
	logger  *slog.Logger

	mu sync.Mutex
	b  sharestore.Backend
}

func (s *server) backend() (sharestore.Backend, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b == nil {
		return nil, sharestore.Errorf(sharestore.ErrInternal, "plugin used before Configure")
	}
	return s.b, nil
}

func (s *server) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b != nil {
		s.b.Close()
		s.b = nil
	}
}

func parseSI(b []byte) (sharestore.StorageIndex, error) {
	var si sharestore.StorageIndex
	if len(b) != len(si) {
		return si, sharestore.Errorf(sharestore.ErrInvalidArgument, "storage index of %d bytes, want %d", len(b), len(si))
	}
	copy(si[:], b)
	return si, nil
}

func (s *server) shareset(si []byte) (sharestore.Shareset, error) {
	b, err := s.backend()
	if err != nil {
		return nil, err
	}
	x, err := parseSI(si)
	if err != nil {
		return nil, err
	}
	return b.Shareset(x), nil
}

func (s *server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	knownSecrets.add(req.Secrets)
	b, err := s.factory(ctx, Config{URL: req.Url, Create: req.Create, Options: req.Options, Secrets: req.Secrets, Logger: s.logger})
	if err != nil {
		return nil, toStatus(err)
	}
	s.mu.Lock()
	old := s.b
	s.b = b
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return &pb.ConfigureResponse{Capabilities: capsToPB(b.Capabilities())}, nil
}

func (s *server) Info(ctx context.Context, _ *pb.InfoRequest) (*pb.InfoResponse, error) {
	b, err := s.backend()
	if err != nil {
		return nil, toStatus(err)
	}
	reqs, err := s.storeRequests(ctx, b)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.InfoResponse{Capabilities: capsToPB(b.Capabilities()), Requests: reqs}, nil
}

func infoToPB(i sharestore.ShareInfo) *pb.ShareInfo {
	return &pb.ShareInfo{Si: i.SI[:], Shnum: int32(i.Shnum), Size: i.Size, UsedSpace: i.UsedSpace, ModTimeUnixNano: i.ModTime.UnixNano(), Version: i.Version}
}

func shareToPB(s sharestore.Share) *pb.Share {
	return &pb.Share{Info: infoToPB(s.ShareInfo), Type: int32(s.Type), Version: int32(s.Version), DataLength: s.DataLength}
}

// errSendFailed marks a failed Send, so the stream's own error is returned
// rather than a backend error.
type sendErr struct{ err error }

func (e sendErr) Error() string { return e.err.Error() }

// streamStatus is the status a streaming handler returns for err: the
// stream's own error when a Send failed, the backend's error otherwise.
func streamStatus(err error) error {
	var se sendErr
	if errors.As(err, &se) {
		return se.err
	}
	return toStatus(err)
}

func (s *server) ListPrefix(req *pb.ListPrefixRequest, stream pb.Backend_ListPrefixServer) error {
	b, err := s.backend()
	if err != nil {
		return toStatus(err)
	}
	page := &pb.ListPrefixPage{}
	flush := func() error {
		if err := stream.Send(page); err != nil {
			return sendErr{err}
		}
		page = &pb.ListPrefixPage{Shares: make([]*pb.ShareInfo, 0, pageSize)}
		return nil
	}
	err = b.ListPrefix(stream.Context(), sharestore.Prefix(req.Prefix), func(i sharestore.ShareInfo) error {
		page.Shares = append(page.Shares, infoToPB(i))
		if len(page.Shares) >= pageSize {
			return flush()
		}
		return nil
	})
	if err == nil && len(page.Shares) > 0 {
		err = flush()
	}
	return streamStatus(err)
}

func (s *server) SharesetsForPrefix(req *pb.SharesetsForPrefixRequest, stream pb.Backend_SharesetsForPrefixServer) error {
	b, err := s.backend()
	if err != nil {
		return toStatus(err)
	}
	sis, err := b.SharesetsForPrefix(stream.Context(), sharestore.Prefix(req.Prefix))
	if err != nil {
		return toStatus(err)
	}
	for len(sis) > 0 {
		n := min(len(sis), pageSize*4)
		page := &pb.SharesetsPage{Sis: make([][]byte, n)}
		for i := range n {
			page.Sis[i] = sis[i][:]
		}
		if err := stream.Send(page); err != nil {
			return err
		}
		sis = sis[n:]
	}
	return nil
}

// ScanPrefixes lists one prefix per unit of credit the host grants, in
// order from the first request's prefix, until the last prefix. It
// sends each listing as soon as the host may need it (see
// ScanRequest.ahead), and gathers the others into pages. The listings
// come from one sharestore.Scan of the backend, with the host's window
// as its Ahead, so a backend with a cheaper way to list a run of
// prefixes (a cloud backend's range listings) uses it inside the plugin
// too.
func (s *server) ScanPrefixes(stream pb.Backend_ScanPrefixesServer) error {
	b, err := s.backend()
	if err != nil {
		return toStatus(err)
	}
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	first := sharestore.Prefix(req.First)
	i := first.Index()
	if i < 0 {
		return toStatus(sharestore.Errorf(sharestore.ErrInvalidArgument, "invalid prefix %q", req.First))
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	inner, err := sharestore.Scan(ctx, b, first, sharestore.ScanOptions{Sharesets: req.Sharesets, Ahead: int(max(req.Ahead, 0))})
	if err != nil {
		return toStatus(err)
	}
	defer inner.Close()
	// end is the index past the last prefix granted. Only grant, first
	// here and then on the receiving goroutine, changes it; wake tells
	// the lister that it grew.
	var end atomic.Int64
	end.Store(int64(i))
	wake := make(chan struct{}, 1)
	grant := func(n int32) {
		if n > 0 {
			end.Store(min(end.Load()+int64(n), sharestore.NumPrefixes))
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}
	grant(req.Credit)
	go func() {
		for {
			r, err := stream.Recv()
			if err == io.EOF {
				return // no more credit; what was granted stands
			}
			if err != nil {
				cancel()
				return
			}
			grant(r.Credit)
		}
	}()
	w := &scanWriter{stream: stream, hold: int(max(req.Ahead, 0)) / 2}
	for ; i < sharestore.NumPrefixes; i++ {
		for int(end.Load()) <= i {
			// No credit: send what is listed before waiting for more.
			if err := w.flush(); err != nil {
				return err
			}
			select {
			case <-wake:
			case <-ctx.Done():
				return toStatus(sharestore.CtxErr(ctx))
			}
		}
		w.cur = i
		p := sharestore.PrefixAt(i)
		var l sharestore.PrefixListing
		if l, err = inner.Next(); err == nil && l.Prefix != p {
			err = sharestore.Errorf(sharestore.ErrInternal, "the backend's scan returned prefix %s where %s was due", l.Prefix, p)
		}
		switch {
		case err != nil:
		case req.Sharesets:
			err = w.sharesets(l.Sharesets, p)
		default:
			err = w.shares(l.Shares, p)
		}
		if err == nil {
			err = w.sendDue(int(end.Load()))
		}
		if err != nil {
			return w.fail(err)
		}
	}
	return w.flush()
}

// fail ends a scan on err. A listing that failed is p's, the prefix being
// added: the complete listings held back before it are sent first, and
// the parts of p in the page are dropped, so the host receives every
// prefix before p and charges the error to p, not to an earlier prefix
// it was still waiting for.
func (w *scanWriter) fail(err error) error {
	var se sendErr
	if errors.As(err, &se) {
		return se.err
	}
	if w.page != nil {
		cur := string(sharestore.PrefixAt(w.cur))
		kept := w.page.Parts[:0]
		for _, pt := range w.page.Parts {
			if pt.Prefix != cur {
				kept = append(kept, pt)
			}
		}
		w.page.Parts = kept
		if len(kept) == 0 {
			w.page = nil
		}
	}
	if ferr := w.flush(); ferr != nil {
		return ferr
	}
	return streamStatus(err)
}

// scanPageBytes bounds the packed listing bytes of one ScanPage: a few
// prefixes' worth, so per-message costs are shared, while the message
// stays under 32 KiB, the largest size class of gRPC's buffer pool
// below 1 MiB (a larger message would take a 1 MiB buffer on each side).
const scanPageBytes = 28 << 10

// scanWriter fills ScanPages with the parts of consecutive prefixes. It
// sends a page when it holds scanPageBytes, when sendDue finds in it a
// listing the host may need, or when flush is called.
type scanWriter struct {
	stream pb.Backend_ScanPrefixesServer
	hold   int // half the host's window: see ScanRequest.ahead
	cur    int // index of the prefix being added
	page   *pb.ScanPage
	first  int // index of the page's first prefix
	bytes  int
}

// room is how many more packed bytes the current page takes.
func (w *scanWriter) room() int { return scanPageBytes - w.bytes }

func (w *scanWriter) add(part *pb.ScanPart) error {
	if w.page == nil {
		w.page, w.first = &pb.ScanPage{}, w.cur
	}
	w.page.Parts = append(w.page.Parts, part)
	if w.bytes += len(part.Shares) + len(part.Sis) + versionBytes(part.Versions); w.bytes >= scanPageBytes {
		if err := w.flush(); err != nil {
			return sendErr{err}
		}
	}
	return nil
}

// sendDue sends the page if it holds a prefix the host may read before
// its next grant, given that credit reaches the prefix before index end.
func (w *scanWriter) sendDue(end int) error {
	hold := w.hold
	if end >= sharestore.NumPrefixes {
		hold = 0 // no grant follows the last one
	}
	if w.page != nil && w.first < end-hold {
		if err := w.flush(); err != nil {
			return sendErr{err}
		}
	}
	return nil
}

func (w *scanWriter) flush() error {
	if w.page == nil {
		return nil
	}
	err := w.stream.Send(w.page)
	w.page, w.bytes = nil, 0
	return err
}

// shares adds p's shares, split into as many parts as the pages need.
// A part carries its shares' Versions only if one of them has one.
func (w *scanWriter) shares(infos []sharestore.ShareInfo, p sharestore.Prefix) error {
	var buf []byte
	var versions []string
	vbytes := 0 // versionBytes(versions), or 0 while all are ""
	part := func(end bool) *pb.ScanPart {
		pt := &pb.ScanPart{Prefix: string(p), Shares: buf, End: end}
		if vbytes > 0 {
			pt.Versions = versions
		}
		buf, versions, vbytes = nil, nil, 0
		return pt
	}
	for _, i := range infos {
		buf = appendPackedShare(buf, i)
		versions = append(versions, i.Version)
		if i.Version != "" && vbytes == 0 {
			vbytes = versionBytes(versions)
		} else if vbytes > 0 {
			vbytes += versionBytes(versions[len(versions)-1:])
		}
		if len(buf)+vbytes < w.room() {
			continue
		}
		if err := w.add(part(false)); err != nil {
			return err
		}
	}
	return w.add(part(true))
}

// sharesets adds p's storage indexes, split as the pages need.
func (w *scanWriter) sharesets(sis []sharestore.StorageIndex, p sharestore.Prefix) error {
	for {
		n := min(len(sis), max(w.room()/packedSharesetSz, 1))
		buf := make([]byte, 0, n*packedSharesetSz)
		for _, si := range sis[:n] {
			buf = append(buf, si[:]...)
		}
		sis = sis[n:]
		if err := w.add(&pb.ScanPart{Prefix: string(p), Sis: buf, End: len(sis) == 0}); err != nil {
			return err
		}
		if len(sis) == 0 {
			return nil
		}
	}
}

// ReadHeaders reads the requested headers several at a time and streams
// the results in pages of at most pageSize.
func (s *server) ReadHeaders(req *pb.ReadHeadersRequest, stream pb.Backend_ReadHeadersServer) error {
	b, err := s.backend()
	if err != nil {
		return toStatus(err)
	}
	ids := make([]sharestore.ShareID, len(req.Shares))
	for k, r := range req.Shares {
		si, err := parseSI(r.Si)
		if err != nil {
			return toStatus(err)
		}
		ids[k] = sharestore.ShareID{SI: si, Shnum: int(r.Shnum)}
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	page := &pb.ReadHeadersPage{}
	var serr error
	err = sharestore.ReadHeaders(ctx, b, ids, sharestore.DefaultHeaderWorkers, func(id sharestore.ShareID, sh sharestore.Share, err error) {
		if serr != nil {
			return
		}
		r := &pb.HeaderResult{Ref: &pb.ShareRef{Si: id.SI[:], Shnum: int32(id.Shnum)}}
		if err != nil {
			r.Error = errDetail(err)
		} else {
			r.Share = shareToPB(sh)
		}
		page.Results = append(page.Results, r)
		if len(page.Results) >= pageSize {
			serr = stream.Send(page)
			page = &pb.ReadHeadersPage{}
			if serr != nil {
				cancel()
			}
		}
	})
	if serr != nil {
		return serr
	}
	if err != nil {
		return toStatus(err)
	}
	if len(page.Results) > 0 {
		return stream.Send(page)
	}
	return nil
}

func (s *server) AvailableSpace(ctx context.Context, _ *pb.AvailableSpaceRequest) (*pb.AvailableSpaceResponse, error) {
	b, err := s.backend()
	if err != nil {
		return nil, toStatus(err)
	}
	n, err := b.AvailableSpace(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.AvailableSpaceResponse{Bytes: n}, nil
}

func (s *server) Shares(ctx context.Context, req *pb.SharesRequest) (*pb.SharesResponse, error) {
	ss, err := s.shareset(req.Si)
	if err != nil {
		return nil, toStatus(err)
	}
	shares, corrupt, err := ss.Shares(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.SharesResponse{}
	for _, sh := range shares {
		resp.Shares = append(resp.Shares, shareToPB(sh))
	}
	for _, c := range corrupt {
		resp.Corrupt = append(resp.Corrupt, int32(c))
	}
	return resp, nil
}

func (s *server) Share(ctx context.Context, req *pb.ShareRequest) (*pb.ShareResponse, error) {
	ss, err := s.shareset(req.Si)
	if err != nil {
		return nil, toStatus(err)
	}
	sh, err := ss.Share(ctx, int(req.Shnum))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ShareResponse{Share: shareToPB(sh)}, nil
}

func (s *server) ReadShareData(req *pb.ReadShareDataRequest, stream pb.Backend_ReadShareDataServer) error {
	ss, err := s.shareset(req.Si)
	if err != nil {
		return toStatus(err)
	}
	data, err := ss.ReadShareData(stream.Context(), int(req.Shnum), req.Offset, req.Length)
	if err != nil {
		return toStatus(err)
	}
	for len(data) > 0 {
		n := min(len(data), chunkSize)
		if err := stream.Send(&pb.Chunk{Data: data[:n]}); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func (s *server) OpenRaw(req *pb.OpenRawRequest, stream pb.Backend_OpenRawServer) error {
	ss, err := s.shareset(req.Si)
	if err != nil {
		return toStatus(err)
	}
	r, size, err := ss.OpenRaw(stream.Context(), int(req.Shnum))
	if err != nil {
		return toStatus(err)
	}
	defer r.Close()
	buf := make([]byte, chunkSize)
	first := true
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 || first {
			msg := &pb.Chunk{Data: buf[:n]}
			if first {
				msg.Size = size
				first = false
			}
			if err := stream.Send(msg); err != nil {
				return err
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return nil
		}
		if rerr != nil {
			return toStatus(sharestore.Wrap(sharestore.ErrUnavailable, rerr, "reading raw share"))
		}
	}
}

func errDetail(err error) *pb.ErrorDetail {
	if err == nil {
		return nil
	}
	return &pb.ErrorDetail{Code: sharestore.CodeOf(err).String(), Message: err.Error()}
}

func (s *server) WriteImmutable(stream pb.Backend_WriteImmutableServer) error {
	ctx := stream.Context()
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	open := req.GetOpen()
	if open == nil {
		return toStatus(sharestore.Errorf(sharestore.ErrInvalidArgument, "write session must start with open"))
	}
	ss, err := s.shareset(open.Si)
	if err != nil {
		return toStatus(err)
	}
	w, err := ss.WriteImmutable(ctx, int(open.Shnum), open.Allocated)
	if err != nil {
		return toStatus(err)
	}
	done := false
	defer func() {
		if !done {
			// The host vanished or the stream broke: leave nothing visible.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			w.Abort(actx)
			cancel()
		}
	}()
	if err := stream.Send(&pb.WriteImmutableResponse{}); err != nil {
		return err
	}
	for {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		var opErr error
		switch op := req.Op.(type) {
		case *pb.WriteImmutableRequest_Write_:
			opErr = w.Write(ctx, op.Write.Offset, op.Write.Data)
		case *pb.WriteImmutableRequest_Commit:
			opErr = w.Close(ctx)
			done = opErr == nil
		case *pb.WriteImmutableRequest_Abort:
			opErr = w.Abort(ctx)
			done = true
		default:
			opErr = sharestore.Errorf(sharestore.ErrInvalidArgument, "unexpected message in write session")
		}
		if err := stream.Send(&pb.WriteImmutableResponse{Error: errDetail(opErr)}); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// putReader turns the data messages of a PutRaw stream into an io.Reader
// that ends with io.EOF only on an explicit commit.
type putReader struct {
	stream pb.Backend_PutRawServer
	buf    []byte
	eof    bool
}

var errNoCommit = errors.New("raw put stream ended without commit")

func (r *putReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		req, err := r.stream.Recv()
		if err == io.EOF {
			return 0, errNoCommit
		}
		if err != nil {
			return 0, err
		}
		switch op := req.Op.(type) {
		case *pb.PutRawRequest_Data:
			r.buf = op.Data
		case *pb.PutRawRequest_Commit:
			r.eof = true
		case *pb.PutRawRequest_Abort:
			return 0, sharestore.Errorf(sharestore.ErrCanceled, "raw put aborted by the host")
		default:
			return 0, errors.New("unexpected message in raw put stream")
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (s *server) PutRaw(stream pb.Backend_PutRawServer) error {
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	h := req.GetHeader()
	if h == nil {
		return toStatus(sharestore.Errorf(sharestore.ErrInvalidArgument, "raw put must start with a header"))
	}
	ss, err := s.shareset(h.Si)
	if err != nil {
		return toStatus(err)
	}
	if err := ss.PutRaw(stream.Context(), int(h.Shnum), &putReader{stream: stream}, h.Size); err != nil {
		return toStatus(err)
	}
	return stream.SendAndClose(&pb.PutRawResponse{})
}

func (s *server) TestAndReadAndWrite(ctx context.Context, req *pb.TestAndReadAndWriteRequest) (*pb.TestAndReadAndWriteResponse, error) {
	ss, err := s.shareset(req.Si)
	if err != nil {
		return nil, toStatus(err)
	}
	var we sharestore.WriteEnabler
	if len(req.WriteEnabler) != len(we) {
		return nil, toStatus(sharestore.Errorf(sharestore.ErrInvalidArgument, "write enabler of %d bytes", len(req.WriteEnabler)))
	}
	copy(we[:], req.WriteEnabler)
	tw := make([]sharestore.TestAndWrite, len(req.Tw))
	for i, t := range req.Tw {
		tw[i].Shnum = int(t.Shnum)
		for _, tv := range t.Tests {
			tw[i].Tests = append(tw[i].Tests, sharestore.TestVector{Offset: tv.Offset, Length: tv.Length, Op: sharestore.TestOp(tv.Op), Specimen: tv.Specimen})
		}
		for _, dv := range t.Writes {
			tw[i].Writes = append(tw[i].Writes, sharestore.DataVector{Offset: dv.Offset, Data: dv.Data})
		}
		if t.HasNewLength {
			n := t.NewLength
			tw[i].NewLength = &n
		}
	}
	var reads []sharestore.ReadRange
	for _, r := range req.Reads {
		reads = append(reads, sharestore.ReadRange{Offset: r.Offset, Length: r.Length})
	}
	ok, got, err := ss.TestAndReadAndWrite(ctx, we, tw, reads)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.TestAndReadAndWriteResponse{Ok: ok}
	if got != nil {
		resp.Reads = make(map[int32]*pb.ShareReads, len(got))
		for k, v := range got {
			resp.Reads[int32(k)] = &pb.ShareReads{Data: v}
		}
	}
	return resp, nil
}

// StatShare returns the share's current listing information as the
// backend's DeleteShare sees it under its lock (see statShare).
func (s *server) StatShare(ctx context.Context, req *pb.StatShareRequest) (*pb.StatShareResponse, error) {
	ss, err := s.shareset(req.Si)
	if err != nil {
		return nil, toStatus(err)
	}
	info, ok, err := statShare(ctx, ss, int(req.Shnum))
	if err != nil {
		return nil, toStatus(err)
	}
	if !ok {
		return &pb.StatShareResponse{}, nil
	}
	return &pb.StatShareResponse{Exists: true, Info: infoToPB(info)}, nil
}

// DeleteShare deletes the share; with expected set, only if under the
// backend's lock it is still the share the host's guard checked.
func (s *server) DeleteShare(ctx context.Context, req *pb.DeleteShareRequest) (*pb.DeleteShareResponse, error) {
	ss, err := s.shareset(req.Si)
	if err != nil {
		return nil, toStatus(err)
	}
	var guard sharestore.Guard
	if req.Expected != nil {
		si, err := parseSI(req.Expected.Si)
		if err != nil {
			return nil, toStatus(err)
		}
		exp := infoOf(req.Expected, si)
		guard = expectGuard(exp)
	}
	if err := ss.DeleteShare(ctx, int(req.Shnum), guard); err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteShareResponse{}, nil
}
