package cloudtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
)

// testVersions checks that List and Head report one Version for one
// object, that a rewrite with other bytes changes it, and that the
// layer's listings carry chunk 0's Version.
func testVersions(t *testing.T, f Factory) {
	ctx := context.Background()
	b := f.Open(t, FreshPrefix("versions"), nil, cloud.Options{Retry: FastRetry, ChunkSize: 1000})
	st := b.Store()
	si := siWithPrefix(rand.New(rand.NewPCG(11, 12)), "gh")
	key := b.KeyPrefix() + cloud.ChunkKey(si, 0, 0)
	if err := st.Put(ctx, key, []byte("first")); err != nil {
		t.Fatal(err)
	}
	head, err := st.Head(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := st.List(ctx, key, "")
	if err != nil || len(pg.Objects) != 1 {
		t.Fatalf("List(%s) = %+v, %v", key, pg.Objects, err)
	}
	if head.Version == "" || pg.Objects[0].Version != head.Version {
		t.Fatalf("Head's version %q, List's %q: want one non-empty token", head.Version, pg.Objects[0].Version)
	}
	var info sharestore.ShareInfo
	if err := b.ListPrefix(ctx, "gh", func(i sharestore.ShareInfo) error { info = i; return nil }); err != nil {
		t.Fatal(err)
	}
	if info.Version != head.Version {
		t.Fatalf("ListPrefix's share has version %q, chunk 0 %q", info.Version, head.Version)
	}
	if err := st.Put(ctx, key, []byte("second")); err != nil {
		t.Fatal(err)
	}
	again, err := st.Head(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if again.Version == head.Version {
		t.Fatalf("a rewrite with other bytes kept version %q", head.Version)
	}
}

// testConditionalDelete checks the store's own precondition, where the
// adapter offers one: DeleteIf with a stale version is refused with
// ErrConflict and the object stays; with the current version it deletes.
// A backend without it must not declare ConditionalDelete.
func testConditionalDelete(t *testing.T, f Factory) {
	ctx := context.Background()
	b := f.Open(t, FreshPrefix("condel"), nil, cloud.Options{Retry: FastRetry})
	cd, ok := b.Store().(cloud.ConditionalDeleter)
	if !ok {
		if b.Capabilities().ConditionalDelete {
			t.Fatal("Capabilities declares ConditionalDelete, but the store has no DeleteIf")
		}
		t.Skip("the store offers no conditional delete")
	}
	if !b.Capabilities().ConditionalDelete {
		t.Fatal("the store has DeleteIf, but Capabilities does not declare ConditionalDelete")
	}
	st := b.Store()
	key := b.KeyPrefix() + "condel-object"
	if err := st.Put(ctx, key, []byte("judged")); err != nil {
		t.Fatal(err)
	}
	stale, err := st.Head(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, key, []byte("rewritten")); err != nil {
		t.Fatal(err)
	}
	if f.PreconditionsIgnored != "" {
		testPreconditionOnWire(t, f, key, stale.Version)
		t.Skipf("the emulator does not enforce delete preconditions: %s", f.PreconditionsIgnored)
	}
	err = cd.DeleteIf(ctx, key, stale.Version)
	if !errors.Is(err, sharestore.ErrConflict) {
		t.Fatalf("DeleteIf with the stale version %q: %v, want ErrConflict", stale.Version, err)
	}
	if got, err := st.Get(ctx, key, 0, -1); err != nil || string(got) != "rewritten" {
		t.Fatalf("after a refused DeleteIf the object holds %q, %v", got, err)
	}
	cur, err := st.Head(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := cd.DeleteIf(ctx, key, cur.Version); err != nil {
		t.Fatalf("DeleteIf with the current version: %v", err)
	}
	if _, err := st.Head(ctx, key); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("after DeleteIf with the current version, Head: %v, want ErrNotFound", err)
	}
}

// rewriteBeforeDelete is a store whose DeleteIf first rewrites the
// object with other bytes through the real store, as another process
// could in the instant between the guard and the delete.
type rewriteBeforeDelete struct {
	cloud.ObjectStore
	cd    cloud.ConditionalDeleter
	bytes []byte
	done  bool
}

func (r *rewriteBeforeDelete) DeleteIf(ctx context.Context, key, version string) error {
	if !r.done {
		r.done = true
		if err := r.ObjectStore.Put(ctx, key, r.bytes); err != nil {
			return err
		}
	}
	return r.cd.DeleteIf(ctx, key, version)
}

// testRewriteBetweenGuardAndDelete rewrites a share's chunk 0 on the
// emulator after DeleteShare's guard accepted the share and before its
// delete: the store's precondition refuses the delete (ErrConflict), and
// the rewritten share stays whole, every chunk of it.
func testRewriteBetweenGuardAndDelete(t *testing.T, f Factory) {
	ctx := context.Background()
	b := f.Open(t, FreshPrefix("rewrite"), nil, cloud.Options{Retry: FastRetry, ChunkSize: 1000})
	cd, ok := b.Store().(cloud.ConditionalDeleter)
	if !ok {
		t.Skip("the store offers no conditional delete")
	}
	if f.PreconditionsIgnored != "" {
		t.Skipf("the emulator does not enforce delete preconditions: %s", f.PreconditionsIgnored)
	}
	si := siWithPrefix(rand.New(rand.NewPCG(13, 14)), "ij")
	old := pattern(2500, 15)
	if err := b.Shareset(si).PutRaw(ctx, 0, bytes.NewReader(old), int64(len(old))); err != nil {
		t.Fatal(err)
	}
	// The new share is the old one with chunk 0 replaced: what a
	// rewrite leaves once its chunk 0 is stored last.
	c0 := pattern(1000, 16)
	rb := &rewriteBeforeDelete{ObjectStore: b.Store(), cd: cd, bytes: c0}
	lb, err := cloud.New(rb, b.Options())
	if err != nil {
		t.Fatal(err)
	}
	guarded := 0
	err = lb.Shareset(si).DeleteShare(ctx, 0, func(context.Context, sharestore.ShareInfo) error { guarded++; return nil })
	if !errors.Is(err, sharestore.ErrConflict) || guarded != 1 {
		t.Fatalf("DeleteShare with chunk 0 rewritten after the guard: %v (guard ran %d times), want ErrConflict", err, guarded)
	}
	want := append(append([]byte(nil), c0...), old[1000:]...)
	r, n, err := b.Shareset(si).OpenRaw(ctx, 0)
	if err != nil {
		t.Fatalf("the rewritten share is gone: %v", err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || n != int64(len(want)) || !bytes.Equal(got, want) {
		t.Fatalf("the rewritten share reads %d of %d bytes (%v), want the rewrite whole", len(got), n, err)
	}
}

// recorder remembers the DELETE requests that pass through it.
type recorder struct {
	mu      sync.Mutex
	deletes []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodDelete {
		r.mu.Lock()
		r.deletes = append(r.deletes, req.Clone(req.Context()))
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

// testPreconditionOnWire checks, for an emulator that ignores delete
// preconditions, that DeleteIf's one DELETE request carries version (in
// a header or a query parameter, quotes aside), so the real store can
// enforce it.
func testPreconditionOnWire(t *testing.T, f Factory, key, version string) {
	t.Helper()
	rec := &recorder{}
	b := f.Open(t, FreshPrefix("wire"), &http.Client{Transport: rec}, cloud.Options{Retry: FastRetry})
	cd := b.Store().(cloud.ConditionalDeleter)
	if err := cd.DeleteIf(context.Background(), key, version); err != nil && !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("DeleteIf(%s, %q): %v", key, version, err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.deletes) != 1 {
		t.Fatalf("DeleteIf sent %d DELETE requests, want 1", len(rec.deletes))
	}
	req := rec.deletes[0]
	want := strings.Trim(version, `"`)
	var values []string
	for _, vs := range req.Header {
		values = append(values, vs...)
	}
	for _, vs := range req.URL.Query() {
		values = append(values, vs...)
	}
	for _, v := range values {
		if strings.Trim(v, `"`) == want {
			return
		}
	}
	t.Fatalf("DeleteIf's request %s carries no precondition on version %q (headers %v)", req.URL.Redacted(), version, req.Header)
}
