// Package cloudtest holds the acceptance tests every object store adapter
// runs against its real emulator: the conformance suite, pagination past
// 1000 and 5000 keys with foreign keys around, multi-MiB chunked shares,
// exact shnum deletion, invisible interrupted uploads, fault injection
// through an HTTP transport, version tokens and conditional deletes, and the exact requests of a first and a steady
// crawl cycle. Adapters call Run from a test.
package cloudtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/conformance"
)

// Factory opens backends of one adapter against its emulator.
type Factory struct {
	// Open returns a backend whose keys live under keyPrefix in the
	// emulator's test bucket, whose requests go through client (nil:
	// the default), with the given options (Name and KeyPrefix are the
	// adapter's business).
	Open func(t conformance.TB, keyPrefix string, client *http.Client, opts cloud.Options) *cloud.Backend
	// PageSize is the provider's listing page size (S3 and GCS 1000,
	// Azure 5000).
	PageSize int
	// PreconditionsIgnored, when not "", says why the emulator accepts a
	// conditional delete (cloud.ConditionalDeleter) without enforcing
	// it. The tests then check that the precondition goes out on the
	// wire, and skip those that need the store to refuse a stale
	// version.
	PreconditionsIgnored string
}

var prefixSeq atomic.Int64

// FastRetry is the retry policy tests use: many quick attempts.
var FastRetry = cloud.RetryPolicy{Attempts: 8, MaxElapsed: 30 * time.Second, Base: time.Millisecond, Max: 20 * time.Millisecond}

// FreshPrefix returns a key prefix no other test of this process uses.
func FreshPrefix(name string) string {
	return fmt.Sprintf("t%d-%d/%s", time.Now().UnixNano()%1e9, prefixSeq.Add(1), name)
}

type harness struct {
	f    Factory
	plan cloud.ListPlan
}

func (h harness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
	return h.f.Open(t, FreshPrefix("conf"), nil, cloud.Options{Retry: FastRetry, ListPlan: h.plan}), nil
}

func (h harness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
	cb := b.(*cloud.Backend)
	return cb.Store().Put(ctx, cb.KeyPrefix()+key, data)
}

// Harness returns the conformance harness of f: every backend gets a
// fresh key prefix in the shared test bucket.
func Harness(f Factory) conformance.Harness { return harness{f: f} }

// Run runs every acceptance test of the adapter.
func Run(t *testing.T, f Factory) {
	t.Run("Conformance", func(t *testing.T) { conformance.RunBackend(t, Harness(f)) })
	// The golden results hold under either listing plan.
	for _, plan := range []cloud.ListPlan{cloud.PlanPrefix, cloud.PlanRange} {
		t.Run("Crawlers/"+string(plan), func(t *testing.T) { conformance.RunCrawlers(t, harness{f, plan}) })
	}
	t.Run("Pagination", func(t *testing.T) { testPagination(t, f) })
	t.Run("LargeShareRanges", func(t *testing.T) { testLargeShare(t, f) })
	t.Run("DeleteExactShnum", func(t *testing.T) { testDeleteExact(t, f) })
	t.Run("InterruptedUploadInvisible", func(t *testing.T) { testInterrupted(t, f) })
	t.Run("Faults", func(t *testing.T) { testFaults(t, f) })
	t.Run("Versions", func(t *testing.T) { testVersions(t, f) })
	t.Run("ConditionalDelete", func(t *testing.T) { testConditionalDelete(t, f) })
	t.Run("RewriteBetweenGuardAndDelete", func(t *testing.T) { testRewriteBetweenGuardAndDelete(t, f) })
	t.Run("RequestPattern", func(t *testing.T) { testRequestPattern(t, f) })
}

func siWithPrefix(rng *rand.Rand, p sharestore.Prefix) sharestore.StorageIndex {
	for {
		var si sharestore.StorageIndex
		for i := range si {
			si[i] = byte(rng.UintN(256))
		}
		// The first 10 bits are the prefix.
		hi := strings.IndexByte(sharestore.Alphabet, p[0])
		lo := strings.IndexByte(sharestore.Alphabet, p[1])
		bits := hi<<5 | lo
		si[0] = byte(bits >> 2)
		si[1] = byte(bits&3)<<6 | si[1]&0x3f
		if si.Prefix() == p {
			return si
		}
	}
}

// parallel runs fn(i) for i in [0, n) on 16 workers.
func parallel(t testing.TB, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	var first atomic.Value
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || first.Load() != nil {
					return
				}
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		t.Fatal(err)
	}
}

// countingStore counts List calls.
type countingStore struct {
	cloud.ObjectStore
	lists atomic.Int64
}

func (c *countingStore) List(ctx context.Context, prefix, token string) (cloud.Page, error) {
	c.lists.Add(1)
	return c.ObjectStore.List(ctx, prefix, token)
}

// More than 5000 shares (so more than 1000) in one prefix are all listed,
// with their sizes, across several provider pages; foreign keys in the
// prefix, outside it and outside the key prefix, and orphan chunks whose
// chunk 0 is missing, are ignored.
func testPagination(t *testing.T, f Factory) {
	ctx := context.Background()
	kp := FreshPrefix("pages")
	b := f.Open(t, kp, nil, cloud.Options{Retry: FastRetry})
	st := b.Store()
	rng := rand.New(rand.NewPCG(1, 2))
	const p = sharestore.Prefix("aa")
	const n = 5100
	type want struct {
		si    sharestore.StorageIndex
		shnum int
		size  int64
	}
	wants := make([]want, n)
	for i := range wants {
		wants[i] = want{siWithPrefix(rng, p), i % 3, int64(12 + i%7)}
	}
	parallel(t, n, func(i int) error {
		w := wants[i]
		return st.Put(ctx, b.KeyPrefix()+cloud.ChunkKey(w.si, w.shnum, 0), make([]byte, w.size))
	})
	foreign := []string{
		b.KeyPrefix() + "shares/aa/README",
		b.KeyPrefix() + "shares/aa/" + wants[0].si.String() + "/notashare",
		b.KeyPrefix() + "shares/aa/" + wants[0].si.String() + "/07",
		b.KeyPrefix() + "shares/aa/" + wants[0].si.String() + "/5.0",
		b.KeyPrefix() + "shares/aa/" + wants[1].si.String() + "/99.1", // orphan chunk: no chunk 0
		b.KeyPrefix() + "shares/aab/x",
		b.KeyPrefix() + "stray.txt",
		strings.TrimSuffix(b.KeyPrefix(), "/") + "-other/shares/aa/" + wants[2].si.String() + "/0",
	}
	for _, k := range foreign {
		if err := st.Put(ctx, k, []byte("foreign")); err != nil {
			t.Fatal(err)
		}
	}
	cs := &countingStore{ObjectStore: st}
	lb, err := cloud.New(cs, b.Options())
	if err != nil {
		t.Fatal(err)
	}
	var got []sharestore.ShareInfo
	if err := lb.ListPrefix(ctx, p, func(info sharestore.ShareInfo) error {
		got = append(got, info)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Slice(wants, func(i, j int) bool {
		return sharestore.ShareID{SI: wants[i].si, Shnum: wants[i].shnum}.Compare(sharestore.ShareID{SI: wants[j].si, Shnum: wants[j].shnum}) < 0
	})
	if len(got) != n {
		t.Fatalf("ListPrefix listed %d shares, want %d", len(got), n)
	}
	for i, w := range wants {
		g := got[i]
		if g.SI != w.si || g.Shnum != w.shnum || g.Size != w.size || g.UsedSpace != w.size || g.ModTime.IsZero() {
			t.Fatalf("entry %d = %+v, want %s/%d of %d bytes", i, g, w.si, w.shnum, w.size)
		}
	}
	if min := int64((n + len(foreign) + f.PageSize - 1) / f.PageSize); cs.lists.Load() < min {
		t.Errorf("ListPrefix made %d list calls, want at least %d pages of %d", cs.lists.Load(), min, f.PageSize)
	}
	sis, err := b.SharesetsForPrefix(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(sis) != n {
		t.Errorf("SharesetsForPrefix = %d storage indexes, want %d", len(sis), n)
	}
	// The foreign objects are still there, untouched.
	for _, k := range foreign {
		if _, err := st.Head(ctx, k); err != nil {
			t.Errorf("foreign object %s: %v", k, err)
		}
	}
}

func pattern(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	return b
}

// A multi-MiB immutable share is stored as 512 KiB chunks, chunk 0
// included, and reads back correctly by ranges that cross chunk
// boundaries; OpenRaw returns the container.
func testLargeShare(t *testing.T, f Factory) {
	ctx := context.Background()
	b := f.Open(t, FreshPrefix("large"), nil, cloud.Options{Retry: FastRetry})
	si := siWithPrefix(rand.New(rand.NewPCG(3, 4)), "qq")
	data := pattern(3<<20+12345, 1)
	w, err := b.Shareset(si).WriteImmutable(ctx, 3, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 100_000 {
		end := min(off+100_000, len(data))
		if err := w.Write(ctx, int64(off), data[off:end]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	size := int64(len(data) + 12)
	nchunks := (size + cloud.DefaultChunkSize - 1) / cloud.DefaultChunkSize
	for i := int64(0); i < nchunks+1; i++ {
		o, err := b.Store().Head(ctx, b.KeyPrefix()+cloud.ChunkKey(si, 3, i))
		switch {
		case i == nchunks && !errors.Is(err, sharestore.ErrNotFound):
			t.Errorf("chunk %d past the end: %v, %+v", i, err, o)
		case i < nchunks && err != nil:
			t.Fatalf("chunk %d: %v", i, err)
		case i < nchunks-1 && o.Size != cloud.DefaultChunkSize:
			t.Errorf("chunk %d is %d bytes, want %d", i, o.Size, cloud.DefaultChunkSize)
		}
	}
	sh, err := b.Shareset(si).Share(ctx, 3)
	if err != nil || sh.DataLength != int64(len(data)) || sh.Size != size || sh.Type != sharestore.ShareTypeImmutable {
		t.Fatalf("Share = %+v, %v", sh, err)
	}
	ranges := [][2]int64{{0, 10}, {cloud.DefaultChunkSize - 20, 40}, {cloud.DefaultChunkSize - 12, 1}, {1 << 20, 2 << 20}, {int64(len(data)) - 5, 100}, {int64(len(data)), 10}, {0, int64(len(data))}}
	for _, r := range ranges {
		got, err := b.Shareset(si).ReadShareData(ctx, 3, r[0], r[1])
		if err != nil {
			t.Fatalf("ReadShareData(%d, %d): %v", r[0], r[1], err)
		}
		lo := min(r[0], int64(len(data)))
		hi := min(r[0]+r[1], int64(len(data)))
		if !bytes.Equal(got, data[lo:hi]) {
			t.Fatalf("ReadShareData(%d, %d): %d bytes that differ from the %d written", r[0], r[1], len(got), hi-lo)
		}
	}
	rc, n, err := b.Shareset(si).OpenRaw(ctx, 3)
	if err != nil || n != size {
		t.Fatalf("OpenRaw: %d, %v", n, err)
	}
	h := sha256.New()
	if _, err := bytesCopy(h, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	want := sha256.New()
	want.Write([]byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	want.Write(data)
	if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Fatal("OpenRaw content differs from the container")
	}
}

// Deleting share 1 of a storage index deletes all its chunks and leaves
// shares 10, 11 and 100 (whose keys start with "1") whole.
func testDeleteExact(t *testing.T, f Factory) {
	ctx := context.Background()
	b := f.Open(t, FreshPrefix("exact"), nil, cloud.Options{Retry: FastRetry, ChunkSize: 1000})
	si := siWithPrefix(rand.New(rand.NewPCG(5, 6)), "ab")
	ss := b.Shareset(si)
	contents := map[int][]byte{}
	for _, shnum := range []int{1, 10, 11, 100} {
		data := pattern(3500+shnum, uint64(shnum))
		contents[shnum] = data
		w, err := ss.WriteImmutable(ctx, shnum, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, 0, data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.DeleteShare(ctx, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := ss.DeleteShare(ctx, 1, nil); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	shares, corrupt, err := ss.Shares(ctx)
	if err != nil || len(corrupt) != 0 || len(shares) != 3 {
		t.Fatalf("Shares = %+v, %v, %v", shares, corrupt, err)
	}
	for _, shnum := range []int{10, 11, 100} {
		got, err := ss.ReadShareData(ctx, shnum, 0, 1<<20)
		if err != nil || !bytes.Equal(got, contents[shnum]) {
			t.Fatalf("share %d after deleting share 1: %d bytes, %v", shnum, len(got), err)
		}
	}
	var left []string
	pg, err := b.Store().List(ctx, b.KeyPrefix()+"shares/ab/"+si.String()+"/1.", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range pg.Objects {
		left = append(left, o.Key)
	}
	if _, err := b.Store().Head(ctx, b.KeyPrefix()+cloud.ChunkKey(si, 1, 0)); !errors.Is(err, sharestore.ErrNotFound) || len(left) != 0 {
		t.Fatalf("share 1 left objects behind: chunk 0 %v, chunks %v", err, left)
	}
}

// An upload that has not been closed is invisible to listings and to
// Shares, even after several chunks were stored; Abort removes them.
func testInterrupted(t *testing.T, f Factory) {
	ctx := context.Background()
	b := f.Open(t, FreshPrefix("interrupted"), nil, cloud.Options{Retry: FastRetry, ChunkSize: 1000})
	si := siWithPrefix(rand.New(rand.NewPCG(7, 8)), "cd")
	w, err := b.Shareset(si).WriteImmutable(ctx, 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, 0, pattern(6000, 9)); err != nil {
		t.Fatal(err)
	}
	pg, err := b.Store().List(ctx, b.KeyPrefix(), "")
	if err != nil || len(pg.Objects) < 5 {
		t.Fatalf("expected several chunks stored before Close, got %d objects, %v", len(pg.Objects), err)
	}
	var listed int
	if err := b.ListPrefix(ctx, "cd", func(sharestore.ShareInfo) error { listed++; return nil }); err != nil || listed != 0 {
		t.Fatalf("ListPrefix during the upload listed %d shares, %v", listed, err)
	}
	if sh, c, err := b.Shareset(si).Shares(ctx); err != nil || len(sh)+len(c) != 0 {
		t.Fatalf("Shares during the upload = %v %v %v", sh, c, err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	pg, err = b.Store().List(ctx, b.KeyPrefix(), "")
	if err != nil || len(pg.Objects) != 0 {
		t.Fatalf("after Abort %d objects remain, %v", len(pg.Objects), err)
	}
}

// Throttling (503, 429) and connection resets in front of the emulator
// are retried until the operation succeeds; a permanent 403 fails at
// once with ErrPermissionDenied.
func testFaults(t *testing.T, f Factory) {
	ctx := context.Background()
	ft := &FaultTransport{}
	client := &http.Client{Transport: ft}
	b := f.Open(t, FreshPrefix("faults"), client, cloud.Options{Retry: FastRetry, ChunkSize: 1000})
	si := siWithPrefix(rand.New(rand.NewPCG(9, 10)), "ef")
	ss := b.Shareset(si)
	data := pattern(2500, 11)
	script := []Fault{Unavailable503, TooMany429, Reset, InternalError500}
	step := func(name string, fn func() error) {
		t.Helper()
		ft.Reset()
		ft.Script(script...)
		if err := fn(); err != nil {
			t.Fatalf("%s with faults %v injected: %v", name, script, err)
		}
		if _, inj := ft.Counts(); inj != len(script) {
			t.Fatalf("%s: %d faults injected, want %d", name, inj, len(script))
		}
	}
	var w sharestore.ImmutableWriter
	step("WriteImmutable", func() (err error) { w, err = ss.WriteImmutable(ctx, 0, int64(len(data))); return })
	step("Write", func() error { return w.Write(ctx, 0, data) })
	step("Close", func() error { return w.Close(ctx) })
	step("ListPrefix", func() error {
		n := 0
		err := b.ListPrefix(ctx, "ef", func(sharestore.ShareInfo) error { n++; return nil })
		if err == nil && n != 1 {
			err = fmt.Errorf("listed %d shares, want 1", n)
		}
		return err
	})
	step("ReadShareData", func() error {
		got, err := ss.ReadShareData(ctx, 0, 0, 5000)
		if err == nil && !bytes.Equal(got, data) {
			err = errors.New("read back different data")
		}
		return err
	})
	step("DeleteShare", func() error { return ss.DeleteShare(ctx, 0, nil) })

	ft.Reset()
	ft.Always(Forbidden403)
	start := time.Now()
	_, err := ss.ReadShareData(ctx, 0, 0, 10)
	if !errors.Is(err, sharestore.ErrPermissionDenied) {
		t.Fatalf("ReadShareData with 403: %v, want ErrPermissionDenied", err)
	}
	if req, _ := ft.Counts(); req != 1 {
		t.Errorf("403 was retried: %d requests", req)
	}
	err = ss.PutRaw(ctx, 1, bytes.NewReader([]byte("x")), 1)
	if !errors.Is(err, sharestore.ErrPermissionDenied) {
		t.Fatalf("PutRaw with 403: %v, want ErrPermissionDenied", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("403 took %v to fail", d)
	}
	ft.Reset()
	ft.Always(Unavailable503)
	err = b.ListPrefix(ctx, "ef", func(sharestore.ShareInfo) error { return nil })
	if !cloud.Retryable(err) {
		t.Fatalf("ListPrefix with permanent 503: %v, want a retryable class", err)
	}
	if req, _ := ft.Counts(); req != FastRetry.Attempts {
		t.Errorf("permanent 503: %d requests, want %d attempts", req, FastRetry.Attempts)
	}
	ft.Reset()
}
