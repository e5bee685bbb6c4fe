package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

// Harness adapts one backend implementation to the suite. RunBackend calls
// NewBackend once per subtest (about a hundred times), so every subtest
// starts from an empty store; an object-store harness should make that
// cheap, for example with a fresh key prefix in one bucket. Harness
// methods may be called from the subtest's goroutine only.
type Harness interface {
	// NewBackend returns a fresh, empty backend whose mutable containers
	// record the all-zero NodeID. The suite closes it.
	NewBackend(ctx context.Context, t TB) (sharestore.Backend, error)

	// PlantObject stores data under key, bypassing b: key is
	// slash-separated and relative to the store root, e.g.
	// "shares/aa/<si>/0", "shares/aa/<si>/not-a-share", "stray.txt".
	// Return sharestore.ErrUnimplemented if the backend has no raw
	// namespace; the suite then skips tests that need it.
	PlantObject(ctx context.Context, t TB, b sharestore.Backend, key string, data []byte) error
}

// subtestTimeout bounds every subtest, so a backend that hangs fails
// instead of stalling the run.
const subtestTimeout = 2 * time.Minute

// test is one named subtest of a group.
type test struct {
	name string
	// writes marks tests that mutate the store; they are skipped when the
	// backend declares Capabilities().ReadOnly.
	writes bool
	fn     func(e *env)
}

type group struct {
	name  string
	tests []test
}

// groups lists every subtest, by group, in the order RunBackend runs them.
func groups() []group {
	return []group{
		{"Backend", backendTests()},
		{"Listing", listingTests()},
		{"Classification", classificationTests()},
		{"Reads", readTests()},
		{"Immutable", immutableTests()},
		{"Mutable", mutableTests()},
		{"Delete", deleteTests()},
		{"Concurrency", concurrencyTests()},
		{"Lock", lockTests()},
		{"Cancellation", cancellationTests()},
		{"Scan", scanTests()},
		{"Meta", metaTests()},
	}
}

// RunBackend runs the backend contract tests against the backends h
// creates. Each subtest gets its own backend from h.NewBackend and closes
// it. Subtests that need a capability the backend does not declare are
// skipped, never failed; tests that mutate the store are skipped for a
// backend that declares ReadOnly, and a read-only backend is instead
// checked to refuse every mutation with ErrPermissionDenied.
func RunBackend(t *testing.T, h Harness) {
	runGo(t, BackendTests(h, Options{Short: testing.Short()}), backendGroupPrefix)
}

// env is the state of one subtest: its backend, a context bounded by
// subtestTimeout, and a deterministic random source seeded by the test
// name.
type env struct {
	t      T
	h      Harness
	opts   Options
	b      sharestore.Backend
	ctx    context.Context
	caps   sharestore.Capabilities
	rng    *rand.Rand
	used   map[sharestore.StorageIndex]bool
	closed bool
}

func newEnv(t T, h Harness, o Options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), subtestTimeout)
	t.Cleanup(cancel)
	b, err := h.NewBackend(ctx, t)
	if err != nil {
		t.Fatalf("NewBackend: %v", err)
	}
	if b == nil {
		t.Fatal("NewBackend returned a nil backend and no error")
	}
	f := fnv.New64a()
	io.WriteString(f, t.Name())
	e := &env{
		t:    t,
		h:    h,
		opts: o,
		b:    b,
		ctx:  ctx,
		caps: b.Capabilities(),
		rng:  rand.New(rand.NewPCG(f.Sum64(), 0x5a5a)),
		used: map[sharestore.StorageIndex]bool{},
	}
	t.Cleanup(func() {
		if !e.closed {
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	return e
}

// si returns a fresh storage index whose prefix is p.
func (e *env) si(p sharestore.Prefix) sharestore.StorageIndex {
	e.t.Helper()
	for {
		var si sharestore.StorageIndex
		for i := range si {
			si[i] = byte(e.rng.UintN(256))
		}
		hi := strings.IndexByte(sharestore.Alphabet, p[0])
		lo := strings.IndexByte(sharestore.Alphabet, p[1])
		if hi < 0 || lo < 0 || len(p) != 2 {
			e.t.Fatalf("suite bug: bad prefix %q", p)
		}
		bits := hi<<5 | lo
		si[0] = byte(bits >> 2)
		si[1] = byte(bits&3)<<6 | si[1]&0x3f
		if si.Prefix() != p {
			e.t.Fatalf("suite bug: SI %s does not have prefix %s", si, p)
		}
		if !e.used[si] {
			e.used[si] = true
			return si
		}
	}
}

// anySI returns a fresh storage index with a random prefix.
func (e *env) anySI() sharestore.StorageIndex {
	return e.si(sharestore.PrefixAt(e.rng.IntN(sharestore.NumPrefixes)))
}

// put stores container as share (si, shnum) through PutRaw.
func (e *env) put(si sharestore.StorageIndex, shnum int, container []byte) {
	e.t.Helper()
	if err := e.b.Shareset(si).PutRaw(e.ctx, shnum, bytes.NewReader(container), int64(len(container))); err != nil {
		e.t.Fatalf("PutRaw(%s/%d, %d bytes): %v", si, shnum, len(container), err)
	}
}

// plant stores data under key through the harness, skipping the test if
// the backend has no raw namespace.
func (e *env) plant(key string, data []byte) {
	e.t.Helper()
	err := e.h.PlantObject(e.ctx, e.t, e.b, key, data)
	if errors.Is(err, sharestore.ErrUnimplemented) {
		e.t.Skipf("harness cannot plant raw objects: %v", err)
	}
	if err != nil {
		e.t.Fatalf("PlantObject(%q): %v", key, err)
	}
}

// settle runs check once when the backend's listings are strongly
// consistent. A backend that declares eventual list consistency gets
// bounded retries: listings of such stores may lag behind writes for a while.
func (e *env) settle(check func() error) error {
	err := check()
	if err == nil || e.caps.StrongListConsistency {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	wait := 20 * time.Millisecond
	for time.Now().Before(deadline) {
		timer := time.NewTimer(wait)
		select {
		case <-e.ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
		if err = check(); err == nil {
			return nil
		}
		wait = min(2*wait, time.Second)
	}
	return err
}

// list returns everything ListPrefix reports for p.
func (e *env) list(p sharestore.Prefix) ([]sharestore.ShareInfo, error) {
	var out []sharestore.ShareInfo
	err := e.b.ListPrefix(e.ctx, p, func(si sharestore.ShareInfo) error {
		out = append(out, si)
		return nil
	})
	return out, err
}

// expectListing checks that ListPrefix(p) reports exactly want, in order,
// with the given sizes.
func (e *env) expectListing(p sharestore.Prefix, want []listed) {
	e.t.Helper()
	var got []sharestore.ShareInfo
	err := e.settle(func() error {
		var err error
		got, err = e.list(p)
		if err != nil {
			return err
		}
		return compareListing(got, want)
	})
	if err != nil {
		e.t.Fatalf("ListPrefix(%q): %v\ngot:  %s\nwant: %s", p, err, fmtInfos(got), fmtListed(want))
	}
}

// expectListingOf checks that the entries of ListPrefix(si.Prefix()) that
// belong to si are exactly want, for tests whose subtests share a backend
// (and may, by chance, share a prefix).
func (e *env) expectListingOf(si sharestore.StorageIndex, want []listed) {
	e.t.Helper()
	var got []sharestore.ShareInfo
	err := e.settle(func() error {
		all, err := e.list(si.Prefix())
		if err != nil {
			return err
		}
		got = got[:0]
		for _, in := range all {
			if in.SI == si {
				got = append(got, in)
			}
		}
		return compareListing(got, want)
	})
	if err != nil {
		e.t.Fatalf("ListPrefix(%q) entries of %s: %v\ngot:  %s\nwant: %s", si.Prefix(), si, err, fmtInfos(got), fmtListed(want))
	}
}

// listed is one expected ListPrefix entry. Entries sort by the bytewise
// order of the SI's text form (Tahoe sorts by si_s), which is not the
// order of the raw bytes: digits 2–7 come after z in base32 values but
// before a in text.
type listed struct {
	si    sharestore.StorageIndex
	shnum int
	size  int64
}

func sortListed(l []listed) {
	sort.Slice(l, func(i, j int) bool {
		return sharestore.ShareID{SI: l[i].si, Shnum: l[i].shnum}.Compare(sharestore.ShareID{SI: l[j].si, Shnum: l[j].shnum}) < 0
	})
}

func compareListing(got []sharestore.ShareInfo, want []listed) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d entries, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.SI != w.si || g.Shnum != w.shnum {
			return fmt.Errorf("entry %d is %s, want %s/%d", i, g.ID(), w.si, w.shnum)
		}
		if g.Size != w.size {
			return fmt.Errorf("entry %d (%s) has Size %d, want %d", i, g.ID(), g.Size, w.size)
		}
		if g.UsedSpace < 0 {
			return fmt.Errorf("entry %d (%s) has negative UsedSpace %d", i, g.ID(), g.UsedSpace)
		}
		if g.ModTime.IsZero() {
			return fmt.Errorf("entry %d (%s) has a zero ModTime", i, g.ID())
		}
	}
	return nil
}

func fmtInfos(l []sharestore.ShareInfo) string {
	var b strings.Builder
	for _, s := range l {
		fmt.Fprintf(&b, "%s(%d) ", s.ID(), s.Size)
	}
	return b.String()
}

func fmtListed(l []listed) string {
	var b strings.Builder
	for _, s := range l {
		fmt.Fprintf(&b, "%s/%d(%d) ", s.si, s.shnum, s.size)
	}
	return b.String()
}

// expectSharesets checks SharesetsForPrefix(p) == want.
func (e *env) expectSharesets(p sharestore.Prefix, want []sharestore.StorageIndex) {
	e.t.Helper()
	var got []sharestore.StorageIndex
	err := e.settle(func() error {
		var err error
		got, err = e.b.SharesetsForPrefix(e.ctx, p)
		if err != nil {
			return err
		}
		if len(got) != len(want) {
			return fmt.Errorf("got %d storage indexes, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				return fmt.Errorf("entry %d is %s, want %s", i, got[i], want[i])
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("SharesetsForPrefix(%q): %v\ngot:  %v\nwant: %v", p, err, got, want)
	}
}

// shares returns Shares(si), failing the test on error.
func (e *env) shares(si sharestore.StorageIndex) ([]sharestore.Share, []int) {
	e.t.Helper()
	s, c, err := e.b.Shareset(si).Shares(e.ctx)
	if err != nil {
		e.t.Fatalf("Shares(%s): %v", si, err)
	}
	return s, c
}

// expectShnums checks that Shares(si) reports exactly the valid shnums
// valid and the corrupt shnums corrupt.
func (e *env) expectShnums(si sharestore.StorageIndex, valid, corrupt []int) []sharestore.Share {
	e.t.Helper()
	s, c := e.shares(si)
	var got []int
	for _, sh := range s {
		got = append(got, sh.Shnum)
		if sh.SI != si {
			e.t.Errorf("Shares(%s) returned share %d with SI %s", si, sh.Shnum, sh.SI)
		}
	}
	if !intsEqual(got, valid) || !intsEqual(c, corrupt) {
		e.t.Fatalf("Shares(%s) = valid %v, corrupt %v; want valid %v, corrupt %v", si, got, c, valid, corrupt)
	}
	return s
}

func intsEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// share returns Share(si, shnum), failing the test on error.
func (e *env) share(si sharestore.StorageIndex, shnum int) sharestore.Share {
	e.t.Helper()
	s, err := e.b.Shareset(si).Share(e.ctx, shnum)
	if err != nil {
		e.t.Fatalf("Share(%s/%d): %v", si, shnum, err)
	}
	if s.SI != si || s.Shnum != shnum {
		e.t.Fatalf("Share(%s/%d) describes %s", si, shnum, s.ID())
	}
	return s
}

// expectAbsent checks that share (si, shnum) is not visible to Share,
// ReadShareData or OpenRaw.
func (e *env) expectAbsent(si sharestore.StorageIndex, shnum int) {
	e.t.Helper()
	ss := e.b.Shareset(si)
	if s, err := ss.Share(e.ctx, shnum); !errors.Is(err, sharestore.ErrNotFound) {
		e.t.Fatalf("Share(%s/%d) = %+v, %v; want ErrNotFound", si, shnum, s, err)
	}
	if d, err := ss.ReadShareData(e.ctx, shnum, 0, 10); !errors.Is(err, sharestore.ErrNotFound) {
		e.t.Fatalf("ReadShareData(%s/%d) = %q, %v; want ErrNotFound", si, shnum, d, err)
	}
	if r, _, err := ss.OpenRaw(e.ctx, shnum); !errors.Is(err, sharestore.ErrNotFound) {
		if err == nil {
			r.Close()
		}
		e.t.Fatalf("OpenRaw(%s/%d) error = %v; want ErrNotFound", si, shnum, err)
	}
}

// raw returns the stored container of (si, shnum) through OpenRaw,
// checking that the reported size matches the bytes.
func (e *env) raw(si sharestore.StorageIndex, shnum int) []byte {
	e.t.Helper()
	r, size, err := e.b.Shareset(si).OpenRaw(e.ctx, shnum)
	if err != nil {
		e.t.Fatalf("OpenRaw(%s/%d): %v", si, shnum, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		e.t.Fatalf("reading OpenRaw(%s/%d): %v", si, shnum, err)
	}
	if int64(len(b)) != size {
		e.t.Fatalf("OpenRaw(%s/%d) reported size %d but yielded %d bytes", si, shnum, size, len(b))
	}
	return b
}

// read returns ReadShareData, failing the test on error.
func (e *env) read(si sharestore.StorageIndex, shnum int, off, n int64) []byte {
	e.t.Helper()
	b, err := e.b.Shareset(si).ReadShareData(e.ctx, shnum, off, n)
	if err != nil {
		e.t.Fatalf("ReadShareData(%s/%d, %d, %d): %v", si, shnum, off, n, err)
	}
	return b
}

// expectData checks that share (si, shnum) holds exactly want.
func (e *env) expectData(si sharestore.StorageIndex, shnum int, want []byte) {
	e.t.Helper()
	got := e.read(si, shnum, 0, int64(len(want))+1000)
	if !bytes.Equal(got, want) {
		e.t.Fatalf("share %s/%d data:\n got %s\nwant %s", si, shnum, clipq(got), clipq(want))
	}
	if s := e.share(si, shnum); s.DataLength != int64(len(want)) {
		e.t.Fatalf("share %s/%d DataLength = %d, want %d", si, shnum, s.DataLength, len(want))
	}
}

func clipq(b []byte) string {
	if len(b) > 120 {
		return fmt.Sprintf("%q…(%d bytes)", b[:120], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// tarw calls TestAndReadAndWrite, failing the test on error.
func (e *env) tarw(si sharestore.StorageIndex, we sharestore.WriteEnabler, tw []sharestore.TestAndWrite, reads []sharestore.ReadRange) (bool, map[int][][]byte) {
	e.t.Helper()
	ok, got, err := e.b.Shareset(si).TestAndReadAndWrite(e.ctx, we, tw, reads)
	if err != nil {
		e.t.Fatalf("TestAndReadAndWrite(%s): %v", si, err)
	}
	return ok, got
}

// expectTARW calls TestAndReadAndWrite and checks its result.
func (e *env) expectTARW(si sharestore.StorageIndex, we sharestore.WriteEnabler, tw []sharestore.TestAndWrite, reads []sharestore.ReadRange, wantOK bool, wantReads map[int][][]byte) {
	e.t.Helper()
	ok, got := e.tarw(si, we, tw, reads)
	if ok != wantOK || !readsEqual(got, wantReads) {
		e.t.Fatalf("TestAndReadAndWrite(%s) = (%v, %s), want (%v, %s)", si, ok, fmtReads(got), wantOK, fmtReads(wantReads))
	}
}

// readsEqual compares read results; a nil and an empty slice are equal,
// but a missing key is not an empty one.
func readsEqual(a, b map[int][][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !bytes.Equal(av[i], bv[i]) {
				return false
			}
		}
	}
	return true
}

func fmtReads(m map[int][][]byte) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var b strings.Builder
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d: [", k)
		for j, v := range m[k] {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(clipq(v))
		}
		b.WriteString("]")
	}
	b.WriteString("}")
	return b.String()
}

// mustErr checks that err matches target with errors.Is.
func mustErr(t TB, err, target error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded; want an error matching %v", what, target)
	}
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %q (code %v) does not match %v", what, err, sharestore.CodeOf(err), target)
	}
}

// mutable writes data to a new or existing mutable share with no tests.
func (e *env) mutable(si sharestore.StorageIndex, we sharestore.WriteEnabler, shnum int, data []byte) {
	e.t.Helper()
	ok, _ := e.tarw(si, we, []sharestore.TestAndWrite{{Shnum: shnum, Writes: []sharestore.DataVector{{Offset: 0, Data: data}}}}, nil)
	if !ok {
		e.t.Fatalf("TestAndReadAndWrite(%s/%d) with no tests returned false", si, shnum)
	}
}

func (e *env) we() sharestore.WriteEnabler {
	var we sharestore.WriteEnabler
	for i := range we {
		we[i] = byte(e.rng.UintN(256))
	}
	return we
}

func (e *env) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(e.rng.UintN(256))
	}
	return b
}

func ptr(n int64) *int64 { return &n }

// tahoeData is the 100-byte data of Tahoe's mutable tests:
// "0"*10 + "1"*10 + … + "9"*10.
func tahoeData() []byte {
	var b []byte
	for i := 0; i < 10; i++ {
		b = append(b, bytes.Repeat([]byte{byte('0' + i)}, 10)...)
	}
	return b
}

// chunk is the size a share is split at: the backend's declared
// ChunkSize, or Tahoe's 512 KiB when the backend stores shares whole (so
// that whole-object backends are exercised with the sizes a cloud chunk
// boundary would split). It is capped at 4 MiB to keep tests fast.
func (e *env) chunk() int {
	c := int64(512 << 10)
	if e.caps.ChunkSize > 0 {
		c = e.caps.ChunkSize
	}
	return int(min(c, 4<<20))
}

// run runs fn as a subtest that shares e's backend.
func (e *env) run(name string, fn func(e *env)) {
	e.t.Run(name, func(t T) {
		c := *e
		c.t = t
		fn(&c)
	})
}
