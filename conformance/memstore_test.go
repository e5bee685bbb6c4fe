package conformance_test

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/conformance/fixture"
	"github.com/sharestore/sharestore/internal/silock"
)

// memBackend is a minimal in-memory reference backend, written from the
// contract, that the suite is checked against. It stores containers as
// whole objects under "shares/PP/SI/N" keys, like an unchunked object
// store. A per-SI lock serializes shareset operations; mu guards the maps.
type memBackend struct {
	locks    silock.Map[sharestore.StorageIndex]
	mu       sync.Mutex
	objects  map[string][]byte
	incoming map[sharestore.ShareID]bool
	closed   bool
	chunk    int64 // declared ChunkSize; objects are stored whole anyway
}

func newMem() *memBackend {
	return &memBackend{objects: map[string][]byte{}, incoming: map[sharestore.ShareID]bool{}}
}

var shnumRE = regexp.MustCompile(`^[0-9]+$`)

func key(si sharestore.StorageIndex, shnum int) string {
	return fmt.Sprintf("shares/%s/%s/%d", si.Prefix(), si, shnum)
}

func (m *memBackend) check(ctx context.Context) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	if m.closed {
		return sharestore.Errorf(sharestore.ErrUnavailable, "backend closed")
	}
	return nil
}

// parseKey returns the share a key names, if it names one.
func parseKey(k string) (sharestore.ShareID, bool) {
	parts := strings.Split(k, "/")
	if len(parts) != 4 || parts[0] != "shares" || !shnumRE.MatchString(parts[3]) {
		return sharestore.ShareID{}, false
	}
	si, err := sharestore.ParseStorageIndex(parts[2])
	if err != nil || string(si.Prefix()) != parts[1] {
		return sharestore.ShareID{}, false
	}
	n, err := strconv.Atoi(parts[3])
	if err != nil || n > math.MaxInt32 {
		return sharestore.ShareID{}, false
	}
	return sharestore.ShareID{SI: si, Shnum: n}, true
}

func (m *memBackend) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	if !p.Valid() {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "invalid prefix %q", p)
	}
	m.mu.Lock()
	if err := m.check(ctx); err != nil {
		m.mu.Unlock()
		return err
	}
	var infos []sharestore.ShareInfo
	for k, v := range m.objects {
		if id, ok := parseKey(k); ok && id.SI.Prefix() == p {
			infos = append(infos, memInfo(id, v))
		}
	}
	m.mu.Unlock()
	sort.Slice(infos, func(i, j int) bool {
		if a, b := infos[i].SI.String(), infos[j].SI.String(); a != b {
			return a < b
		}
		return infos[i].Shnum < infos[j].Shnum
	})
	for _, in := range infos {
		if err := sharestore.CtxErr(ctx); err != nil {
			return err
		}
		if err := fn(in); err != nil {
			return err
		}
	}
	return nil
}

// memInfo is the listing information of a stored container.
func memInfo(id sharestore.ShareID, v []byte) sharestore.ShareInfo {
	return sharestore.ShareInfo{SI: id.SI, Shnum: id.Shnum, Size: int64(len(v)), UsedSpace: int64(len(v)), ModTime: time.Unix(1, 0)}
}

func (m *memBackend) SharesetsForPrefix(ctx context.Context, p sharestore.Prefix) ([]sharestore.StorageIndex, error) {
	if !p.Valid() {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "invalid prefix %q", p)
	}
	var out []sharestore.StorageIndex
	seen := map[sharestore.StorageIndex]bool{}
	err := m.ListPrefix(ctx, p, func(in sharestore.ShareInfo) error {
		if !seen[in.SI] {
			seen[in.SI] = true
			out = append(out, in.SI)
		}
		return nil
	})
	return out, err
}

func (m *memBackend) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return &memShareset{m: m, si: si}
}

func (m *memBackend) AvailableSpace(ctx context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return 0, err
	}
	return math.MaxInt64, nil
}

func (m *memBackend) Capabilities() sharestore.Capabilities {
	return sharestore.Capabilities{Name: "memory", StrongListConsistency: true, ConditionalWrites: true, ChunkSize: m.chunk}
}

func (m *memBackend) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("closed twice")
	}
	m.closed = true
	return nil
}

type memShareset struct {
	m  *memBackend
	si sharestore.StorageIndex
}

func (s *memShareset) StorageIndex() sharestore.StorageIndex { return s.si }

// lock takes the SI lock (waiting no longer than ctx allows), then mu.
func (s *memShareset) lock(ctx context.Context) (func(), error) {
	unlock, err := s.m.locks.Lock(ctx, s.si)
	if err != nil {
		return nil, err
	}
	s.m.mu.Lock()
	return func() { s.m.mu.Unlock(); unlock() }, nil
}

func badShnum(shnum int) error {
	if shnum < 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "negative share number %d", shnum)
	}
	return nil
}

// parsed is one classified container.
type parsed struct {
	share   sharestore.Share
	data    []byte
	nodeid  sharestore.NodeID
	we      sharestore.WriteEnabler
	version int
}

func classify(si sharestore.StorageIndex, shnum int, c []byte) (parsed, error) {
	p := parsed{share: sharestore.Share{ShareInfo: sharestore.ShareInfo{SI: si, Shnum: shnum, Size: int64(len(c)), UsedSpace: int64(len(c)), ModTime: time.Unix(1, 0)}}}
	if v := fixture.MutableVersionOf(c); v != 0 {
		if len(c) < fixture.MutableEmptySize {
			return p, sharestore.Errorf(sharestore.ErrCorrupt, "short mutable container")
		}
		dl := binary.BigEndian.Uint64(c[84:])
		if dl > uint64(len(c)) || fixture.MutableEmptySize+int(dl) > len(c) {
			return p, sharestore.Errorf(sharestore.ErrCorrupt, "mutable data length %d too big", dl)
		}
		copy(p.nodeid[:], c[32:])
		copy(p.we[:], c[52:])
		p.share.Type, p.share.Version, p.share.DataLength = sharestore.ShareTypeMutable, v, int64(dl)
		p.data = c[468 : 468+dl]
		return p, nil
	}
	if len(c) < 12 {
		return p, sharestore.Errorf(sharestore.ErrCorrupt, "short header")
	}
	v := binary.BigEndian.Uint32(c)
	if v != 1 && v != 2 {
		return p, sharestore.Errorf(sharestore.ErrCorrupt, "immutable version %d", v)
	}
	dl := int64(len(c)) - 12 - 72*int64(binary.BigEndian.Uint32(c[8:]))
	if dl < 0 {
		return p, sharestore.Errorf(sharestore.ErrCorrupt, "negative data length")
	}
	p.share.Type, p.share.Version, p.share.DataLength = sharestore.ShareTypeImmutable, int(v), dl
	p.data = c[12 : 12+dl]
	return p, nil
}

// all returns every share of the SI, classified; the caller holds mu.
func (s *memShareset) all() (map[int]parsed, map[int]bool) {
	valid, corrupt := map[int]parsed{}, map[int]bool{}
	for k, v := range s.m.objects {
		id, ok := parseKey(k)
		if !ok || id.SI != s.si {
			continue
		}
		p, err := classify(s.si, id.Shnum, v)
		if err != nil {
			corrupt[id.Shnum] = true
		} else {
			valid[id.Shnum] = p
		}
	}
	return valid, corrupt
}

func (s *memShareset) Shares(ctx context.Context) ([]sharestore.Share, []int, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	if err := s.m.check(ctx); err != nil {
		return nil, nil, err
	}
	valid, corrupt := s.all()
	var out []sharestore.Share
	var bad []int
	for _, p := range valid {
		out = append(out, p.share)
	}
	for n := range corrupt {
		bad = append(bad, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Shnum < out[j].Shnum })
	sort.Ints(bad)
	return out, bad, nil
}

func (s *memShareset) get(ctx context.Context, shnum int) (parsed, error) {
	if err := s.m.check(ctx); err != nil {
		return parsed{}, err
	}
	c, ok := s.m.objects[key(s.si, shnum)]
	if !ok {
		return parsed{}, sharestore.Errorf(sharestore.ErrNotFound, "no share %d", shnum)
	}
	return classify(s.si, shnum, c)
}

func (s *memShareset) Share(ctx context.Context, shnum int) (sharestore.Share, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return sharestore.Share{}, err
	}
	defer unlock()
	p, err := s.get(ctx, shnum)
	return p.share, err
}

func clamp(data []byte, off, n int64) []byte {
	if off >= int64(len(data)) {
		return []byte{}
	}
	end := min(int64(len(data)), off+n)
	if off+n < off {
		end = int64(len(data))
	}
	return append([]byte{}, data[off:end]...)
}

func (s *memShareset) ReadShareData(ctx context.Context, shnum int, off, n int64) ([]byte, error) {
	if off < 0 || n < 0 {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "negative range")
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := s.get(ctx, shnum)
	if err != nil {
		return nil, err
	}
	return clamp(p.data, off, n), nil
}

func (s *memShareset) DeleteShare(ctx context.Context, shnum int, guard sharestore.Guard) error {
	unlock, err := s.m.locks.Lock(ctx, s.si)
	if err != nil {
		return err
	}
	defer unlock()
	s.m.mu.Lock()
	err = s.m.check(ctx)
	s.m.mu.Unlock()
	if err != nil {
		return err
	}
	k := sharestore.ShareID{SI: s.si, Shnum: shnum}
	if guard != nil {
		s.m.mu.Lock()
		v, ok := s.m.objects[key(s.si, shnum)]
		s.m.mu.Unlock()
		if !ok {
			return nil
		}
		if err := guard(ctx, memInfo(k, v)); err != nil {
			return err
		}
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	delete(s.m.objects, key(s.si, shnum))
	return nil
}

func (s *memShareset) WriteImmutable(ctx context.Context, shnum int, allocated int64) (sharestore.ImmutableWriter, error) {
	if err := badShnum(shnum); err != nil {
		return nil, err
	}
	if allocated < 0 {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "negative allocated size")
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if err := s.m.check(ctx); err != nil {
		return nil, err
	}
	id := sharestore.ShareID{SI: s.si, Shnum: shnum}
	if _, ok := s.m.objects[key(s.si, shnum)]; ok || s.m.incoming[id] {
		return nil, sharestore.Errorf(sharestore.ErrConflict, "share %s exists or is being written", id)
	}
	s.m.incoming[id] = true
	return &memWriter{s: s, id: id, allocated: allocated}, nil
}

type memWriter struct {
	s         *memShareset
	id        sharestore.ShareID
	allocated int64
	data      []byte
	done      bool
}

func (w *memWriter) Write(ctx context.Context, off int64, data []byte) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	if off < int64(len(w.data)) {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "backwards write")
	}
	if off > w.allocated || int64(len(data)) > w.allocated-off {
		return sharestore.Errorf(sharestore.ErrOutOfRange, "past allocated")
	}
	w.data = append(w.data, make([]byte, off-int64(len(w.data)))...)
	w.data = append(w.data, data...)
	return nil
}

func (w *memWriter) Close(ctx context.Context) error {
	unlock, err := w.s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := w.s.m.check(ctx); err != nil {
		return err
	}
	if w.done {
		return errors.New("closed")
	}
	w.done = true
	delete(w.s.m.incoming, w.id)
	if _, ok := w.s.m.objects[key(w.id.SI, w.id.Shnum)]; ok {
		return sharestore.Errorf(sharestore.ErrConflict, "share %s appeared during the upload", w.id)
	}
	w.s.m.objects[key(w.id.SI, w.id.Shnum)] = fixture.Immutable{Version: 1, LengthField: uint32(min(w.allocated, math.MaxUint32)), Data: w.data}.Bytes()
	return nil
}

func (w *memWriter) Abort(ctx context.Context) error {
	w.s.m.mu.Lock()
	defer w.s.m.mu.Unlock()
	if !w.done {
		w.done = true
		delete(w.s.m.incoming, w.id)
	}
	return nil
}

func compare(op sharestore.TestOp, a, b []byte) bool {
	c := bytes.Compare(a, b)
	switch op {
	case sharestore.OpLT:
		return c < 0
	case sharestore.OpLE:
		return c <= 0
	case sharestore.OpEQ:
		return c == 0
	case sharestore.OpNE:
		return c != 0
	case sharestore.OpGE:
		return c >= 0
	case sharestore.OpGT:
		return c > 0
	}
	return false
}

func (s *memShareset) TestAndReadAndWrite(ctx context.Context, we sharestore.WriteEnabler, tws []sharestore.TestAndWrite, reads []sharestore.ReadRange) (bool, map[int][][]byte, error) {
	for _, tw := range tws {
		if err := badShnum(tw.Shnum); err != nil {
			return false, nil, err
		}
		for _, t := range tw.Tests {
			if t.Offset < 0 || t.Length < 0 {
				return false, nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "negative test vector")
			}
		}
		for _, w := range tw.Writes {
			if w.Offset < 0 {
				return false, nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "negative write offset")
			}
			if w.Offset > fixture.MaxMutableShareSize || w.Offset+int64(len(w.Data)) > fixture.MaxMutableShareSize {
				return false, nil, sharestore.Errorf(sharestore.ErrOutOfRange, "write past the maximum size")
			}
		}
	}
	for _, r := range reads {
		if r.Offset < 0 || r.Length < 0 {
			return false, nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "negative read vector")
		}
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, nil, err
	}
	defer unlock()
	if err := s.m.check(ctx); err != nil {
		return false, nil, err
	}
	valid, corrupt := s.all()
	var nums []int
	for n, p := range valid {
		if p.share.Type == sharestore.ShareTypeMutable {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		rec := valid[n].we
		if subtle.ConstantTimeCompare(rec[:], we[:]) != 1 {
			return false, nil, sharestore.Errorf(sharestore.ErrPermissionDenied, "The write enabler was recorded by nodeid '%s'.", valid[n].nodeid)
		}
	}
	pass := true
	for _, tw := range tws {
		var data []byte
		if p, ok := valid[tw.Shnum]; ok && p.share.Type == sharestore.ShareTypeMutable {
			data = p.data
		} else if corrupt[tw.Shnum] {
			pass = false
			break
		}
		for _, t := range tw.Tests {
			if !compare(t.Op, clamp(data, t.Offset, t.Length), t.Specimen) {
				pass = false
			}
		}
		if !pass {
			break
		}
	}
	out := map[int][][]byte{}
	for _, n := range nums {
		out[n] = [][]byte{}
		for _, r := range reads {
			out[n] = append(out[n], clamp(valid[n].data, r.Offset, r.Length))
		}
	}
	if !pass {
		return false, out, nil
	}
	for _, tw := range tws {
		k := key(s.si, tw.Shnum)
		if tw.NewLength != nil && *tw.NewLength == 0 {
			delete(s.m.objects, k)
			continue
		}
		h := fixture.Mutable{Version: 2, WriteEnabler: we}
		if p, ok := valid[tw.Shnum]; ok && p.share.Type == sharestore.ShareTypeMutable {
			h = fixture.Mutable{Version: p.version, NodeID: p.nodeid, WriteEnabler: p.we, Data: p.data}
			h.Version = p.share.Version
		}
		d := append([]byte(nil), h.Data...)
		for _, w := range tw.Writes {
			if end := int(w.Offset) + len(w.Data); end > len(d) {
				d = append(d, make([]byte, end-len(d))...)
			}
			copy(d[w.Offset:], w.Data)
		}
		if tw.NewLength != nil && *tw.NewLength < int64(len(d)) {
			d = d[:*tw.NewLength]
		}
		h.Data = d
		s.m.objects[k] = h.Bytes()
	}
	return true, out, nil
}

func (s *memShareset) OpenRaw(ctx context.Context, shnum int) (io.ReadCloser, int64, error) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if err := s.m.check(ctx); err != nil {
		return nil, 0, err
	}
	c, ok := s.m.objects[key(s.si, shnum)]
	if !ok {
		return nil, 0, sharestore.Errorf(sharestore.ErrNotFound, "no share %d", shnum)
	}
	return io.NopCloser(bytes.NewReader(c)), int64(len(c)), nil
}

func (s *memShareset) PutRaw(ctx context.Context, shnum int, r io.Reader, size int64) error {
	if err := badShnum(shnum); err != nil {
		return err
	}
	if size < 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "negative size")
	}
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "short reader: %v", err)
	}
	if n, _ := r.Read(make([]byte, 1)); n > 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "reader longer than %d", size)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.m.check(ctx); err != nil {
		return err
	}
	s.m.objects[key(s.si, shnum)] = buf
	return nil
}

type memHarness struct{ chunk int64 }

func (h memHarness) NewBackend(ctx context.Context, t testing.TB) (sharestore.Backend, error) {
	m := newMem()
	m.chunk = h.chunk
	return m, nil
}

func (memHarness) PlantObject(ctx context.Context, t testing.TB, b sharestore.Backend, key string, data []byte) error {
	m := b.(*memBackend)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[key] = append([]byte(nil), data...)
	return nil
}

// TestMemoryBackend checks the suite itself against the in-memory
// reference backend.
func TestMemoryBackend(t *testing.T) {
	conformance.RunBackend(t, memHarness{})
}

// TestMemoryBackendSmallChunks checks that the suite's chunk-relative
// sizes work for a backend that declares a tiny chunk size.
func TestMemoryBackendSmallChunks(t *testing.T) {
	conformance.RunBackend(t, memHarness{chunk: 500})
}

// noRawHarness is a backend without a raw namespace.
type noRawHarness struct{ memHarness }

func (noRawHarness) PlantObject(ctx context.Context, t testing.TB, b sharestore.Backend, key string, data []byte) error {
	return sharestore.Errorf(sharestore.ErrUnimplemented, "no raw namespace")
}

// TestMemoryBackendNoRawNamespace checks that tests needing PlantObject
// skip, rather than fail, when the harness cannot plant objects.
func TestMemoryBackendNoRawNamespace(t *testing.T) {
	conformance.RunBackend(t, noRawHarness{})
}
