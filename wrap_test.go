package sharestore

import (
	"context"
	"io"
	"slices"
	"sync"
	"testing"
)

// callLog records the names of the methods a test backend served.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (c *callLog) add(name string) {
	c.mu.Lock()
	c.calls = append(c.calls, name)
	c.mu.Unlock()
}

func (c *callLog) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.calls {
		if s == name {
			n++
		}
	}
	return n
}

// slowBackend has only the methods every Backend has: one share per
// prefix from ListPrefix, and headers from Share.
type slowBackend struct {
	Backend // nil: only the methods below are called
	log     *callLog
}

func (b *slowBackend) ListPrefix(ctx context.Context, p Prefix, fn func(ShareInfo) error) error {
	b.log.add("ListPrefix")
	return fn(ShareInfo{Shnum: p.Index()})
}

func (b *slowBackend) Shareset(si StorageIndex) Shareset { return slowSet{b: b, si: si} }

type slowSet struct {
	Shareset
	b  *slowBackend
	si StorageIndex
}

func (s slowSet) Share(ctx context.Context, shnum int) (Share, error) {
	s.b.log.add("Share")
	return Share{ShareInfo: ShareInfo{SI: s.si, Shnum: shnum}}, nil
}

// fastBackend is a slowBackend with every optional interface.
type fastBackend struct {
	*slowBackend
	meta map[string][]byte
}

func (b *fastBackend) ScanPrefixes(ctx context.Context, first Prefix, opts ScanOptions) (PrefixScan, error) {
	b.log.add("ScanPrefixes")
	return NewListScan(ctx, first, opts, func(ctx context.Context, p Prefix) (PrefixListing, error) {
		return PrefixListing{Prefix: p, Shares: []ShareInfo{{Shnum: p.Index()}}}, nil
	})
}

func (b *fastBackend) ReadHeaders(ctx context.Context, ids []ShareID, fn func(ShareID, Share, error)) error {
	b.log.add("ReadHeaders")
	for _, id := range ids {
		fn(id, Share{ShareInfo: ShareInfo{SI: id.SI, Shnum: id.Shnum}}, nil)
	}
	return nil
}

func (b *fastBackend) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	b.log.add("ReadMeta")
	return b.meta[name], nil
}

func (b *fastBackend) WriteMeta(ctx context.Context, name string, data []byte) error {
	b.log.add("WriteMeta")
	b.meta[name] = data
	return nil
}

func (b *fastBackend) Root() string { return "/srv/storage" }

// plainWrapper is the least a wrapper can be: it embeds what it wraps
// and says so.
type plainWrapper struct{ Backend }

func (w plainWrapper) Unwrap() Backend { return w.Backend }

// recordHooks returns hooks that append each request's Op to ops and
// count the shares listed.
func recordHooks(ops *callLog, listed *int) Hooks {
	var mu sync.Mutex
	return Hooks{
		Request: func(_ context.Context, r Request) error {
			ops.add(string(r.Op))
			return nil
		},
		Listed: func(ShareInfo) {
			mu.Lock()
			*listed++
			mu.Unlock()
		},
	}
}

// chains returns b under two levels of wrappers, in every mix of a
// plain wrapper and Intercept.
func chains(b Backend, ops *callLog, listed *int) map[string]Backend {
	h := recordHooks(ops, listed)
	return map[string]Backend{
		"plain/plain":         plainWrapper{plainWrapper{b}},
		"plain/intercept":     plainWrapper{Intercept(b, h)},
		"intercept/plain":     Intercept(plainWrapper{b}, h),
		"intercept/intercept": Intercept(Intercept(b, Hooks{}), h),
	}
}

func scanFrom(t *testing.T, b Backend, first int) int {
	t.Helper()
	s, err := Scan(context.Background(), b, PrefixAt(first), ScanOptions{Ahead: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	for {
		l, err := s.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		if l.Prefix != PrefixAt(first+n) || len(l.Shares) != 1 || l.Shares[0].Shnum != first+n {
			t.Fatalf("listing %d: %+v", n, l)
		}
		n++
	}
}

func readAll(t *testing.T, b Backend, ids []ShareID) {
	t.Helper()
	got := 0
	err := ReadHeaders(context.Background(), b, ids, 3, func(id ShareID, sh Share, err error) {
		if err != nil || sh.SI != id.SI || sh.Shnum != id.Shnum {
			t.Errorf("%s: %+v, %v", id, sh, err)
		}
		got++
	})
	if err != nil || got != len(ids) {
		t.Fatalf("ReadHeaders: %v, %d of %d", err, got, len(ids))
	}
}

var someIDs = []ShareID{{Shnum: 1}, {Shnum: 2}, {SI: StorageIndex{7}, Shnum: 0}}

// Scan, ReadHeaders, MetaStoreOf and LocalRoot find the fast paths of a
// backend under two levels of wrappers, and the slow methods are never
// called.
func TestWrappedFastPaths(t *testing.T) {
	log := &callLog{}
	for name, b := range chains(&fastBackend{slowBackend: &slowBackend{log: log}, meta: map[string][]byte{}}, &callLog{}, new(int)) {
		log.calls = nil
		if n := scanFrom(t, b, NumPrefixes-5); n != 5 {
			t.Fatalf("%s: scan returned %d prefixes, want 5", name, n)
		}
		readAll(t, b, someIDs)
		m, ok := MetaStoreOf(b)
		if !ok {
			t.Fatalf("%s: MetaStoreOf found nothing", name)
		}
		if err := m.WriteMeta(context.Background(), "owner", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if got, err := m.ReadMeta(context.Background(), "owner"); err != nil || string(got) != "x" {
			t.Fatalf("%s: ReadMeta = %q, %v", name, got, err)
		}
		if root, ok := LocalRoot(b); !ok || root != "/srv/storage" {
			t.Fatalf("%s: LocalRoot = %q, %v", name, root, ok)
		}
		for call, want := range map[string]int{"ScanPrefixes": 1, "ReadHeaders": 1, "ReadMeta": 1, "WriteMeta": 1, "ListPrefix": 0, "Share": 0} {
			if got := log.count(call); got != want {
				t.Errorf("%s: %d %s calls, want %d (calls %v)", name, got, call, want, log.calls)
			}
		}
	}
}

// Over a backend without fast paths, a scan and a batch of header reads
// through two wrappers fall back to ListPrefix and Share, and there is
// no MetaStore or LocalStore to find.
func TestWrappedFallbacks(t *testing.T) {
	log := &callLog{}
	for name, b := range chains(&slowBackend{log: log}, &callLog{}, new(int)) {
		log.calls = nil
		if n := scanFrom(t, b, NumPrefixes-5); n != 5 {
			t.Fatalf("%s: scan returned %d prefixes, want 5", name, n)
		}
		readAll(t, b, someIDs)
		if _, ok := MetaStoreOf(b); ok {
			t.Errorf("%s: MetaStoreOf found a MetaStore that is not there", name)
		}
		if _, ok := LocalRoot(b); ok {
			t.Errorf("%s: LocalRoot found a root that is not there", name)
		}
		if got := log.count("ListPrefix"); got != 5 {
			t.Errorf("%s: %d ListPrefix calls, want 5", name, got)
		}
		if got := log.count("Share"); got != len(someIDs) {
			t.Errorf("%s: %d Share calls, want %d", name, got, len(someIDs))
		}
	}
}

// Intercept's hooks see a scan as one ReqScan and one ReqScanPrefix per
// prefix returned, a batch of header reads as one ReqReadHeaders, and
// every share listed, whether the backend below has fast paths or not.
func TestInterceptScanAndHeaderRequests(t *testing.T) {
	for _, fast := range []bool{false, true} {
		var inner Backend = &slowBackend{log: &callLog{}}
		if fast {
			inner = &fastBackend{slowBackend: inner.(*slowBackend), meta: map[string][]byte{}}
		}
		ops, listed := &callLog{}, 0
		b := Intercept(inner, recordHooks(ops, &listed))
		scanFrom(t, b, NumPrefixes-3)
		readAll(t, b, someIDs)
		err := b.ListPrefix(context.Background(), "aa", func(ShareInfo) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"scan", "scan-prefix", "scan-prefix", "scan-prefix", "read-headers", "list-prefix"}
		if !slices.Equal(ops.calls, want) {
			t.Errorf("fast %v: requests %v, want %v", fast, ops.calls, want)
		}
		if listed != 4 {
			t.Errorf("fast %v: %d shares listed, want 4", fast, listed)
		}
	}
}

// The cost of a request: one store operation, or one per share of a
// batch of header reads.
func TestRequestCost(t *testing.T) {
	for _, tc := range []struct {
		r    Request
		want int
	}{
		{Request{Op: ReqListPrefix}, 1},
		{Request{Op: ReqScanPrefix}, 1},
		{Request{Op: ReqDeleteShare, Shnum: 3}, 1},
		{Request{Op: ReqReadHeaders, IDs: someIDs}, 3},
		{Request{Op: ReqReadHeaders}, 0},
	} {
		if got := tc.r.Cost(); got != tc.want {
			t.Errorf("%+v: cost %d, want %d", tc.r, got, tc.want)
		}
	}
}
