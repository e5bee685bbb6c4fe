package sharestore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance"
)

// requestLog is a Request hook that records every request, and refuses
// them all while refuse is set.
type requestLog struct {
	mu     sync.Mutex
	reqs   []sharestore.Request
	refuse bool
	// finished counts the Done calls by op, and failed those with an
	// error.
	finished, failed map[sharestore.RequestOp]int
}

// done is a Done hook that counts what returned.
func (l *requestLog) done(r sharestore.Request, err error, elapsed time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished == nil {
		l.finished, l.failed = map[sharestore.RequestOp]int{}, map[sharestore.RequestOp]int{}
	}
	l.finished[r.Op]++
	if err != nil {
		l.failed[r.Op]++
	}
	if elapsed < 0 {
		panic("negative elapsed time")
	}
}

var errRefused = sharestore.Errorf(sharestore.ErrThrottled, "refused by the test hook")

func (l *requestLog) hook(_ context.Context, r sharestore.Request) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
	if l.refuse {
		return errRefused
	}
	return nil
}

func (l *requestLog) ops() map[sharestore.RequestOp]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[sharestore.RequestOp]bool{}
	for _, r := range l.reqs {
		out[r.Op] = true
	}
	return out
}

// interceptHarness runs the conformance suite on a disk backend under
// two levels of Intercept, recording every request in log.
type interceptHarness struct{ log *requestLog }

func (h interceptHarness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
	b, err := disk.Open(t.TempDir(), disk.Options{Create: true})
	if err != nil {
		return nil, err
	}
	return sharestore.Intercept(sharestore.Intercept(b, sharestore.Hooks{Request: h.log.hook, Done: h.log.done}), sharestore.Hooks{}), nil
}

func (h interceptHarness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
	root, ok := sharestore.LocalRoot(b)
	if !ok {
		return sharestore.Errorf(sharestore.ErrInternal, "no local root under the wrappers")
	}
	path := filepath.Join(root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// A backend under two levels of Intercept passes the whole contract, and
// the hook sees every kind of request.
func TestInterceptConformance(t *testing.T) {
	log := &requestLog{}
	conformance.RunBackend(t, interceptHarness{log: log})
	got := log.ops()
	for _, op := range []sharestore.RequestOp{
		sharestore.ReqListPrefix, sharestore.ReqSharesets, sharestore.ReqAvailableSpace,
		sharestore.ReqScan, sharestore.ReqScanPrefix, sharestore.ReqReadHeaders,
		sharestore.ReqShares, sharestore.ReqShare, sharestore.ReqReadShareData,
		sharestore.ReqDeleteShare, sharestore.ReqWriteImmutable, sharestore.ReqImmutableWrite,
		sharestore.ReqImmutableClose, sharestore.ReqImmutableAbort, sharestore.ReqTestAndReadAndWrite,
		sharestore.ReqOpenRaw, sharestore.ReqPutRaw, sharestore.ReqReadMeta, sharestore.ReqWriteMeta,
	} {
		if !got[op] {
			t.Errorf("the hook never saw a %s request", op)
		}
	}
	// Every request that reached the backend was reported done, once.
	asked := map[sharestore.RequestOp]int{}
	for _, r := range log.reqs {
		asked[r.Op]++
	}
	for op, n := range asked {
		if log.finished[op] != n {
			t.Errorf("%s: %d requests, %d reported done", op, n, log.finished[op])
		}
	}
	if log.failed[sharestore.ReqShare] == 0 {
		t.Errorf("no failed share request was reported with its error: %v", log.failed)
	}
}

// Each Shareset request names its storage index and share, and a hook
// that refuses keeps the request from the backend; an Abort still
// aborts.
func TestInterceptSharesetRequests(t *testing.T) {
	ctx := context.Background()
	inner, err := disk.Open(t.TempDir(), disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	log := &requestLog{}
	b := sharestore.Intercept(inner, sharestore.Hooks{Request: log.hook, Done: log.done})
	si := sharestore.StorageIndex{1, 2, 3}
	ss := b.Shareset(si)
	w, err := ss.WriteImmutable(ctx, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, 0, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var we sharestore.WriteEnabler
	if _, _, err := ss.TestAndReadAndWrite(ctx, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{{Data: []byte("m")}}}}, nil); err != nil {
		t.Fatal(err)
	}
	want := []sharestore.Request{
		{Op: sharestore.ReqWriteImmutable, SI: si, Shnum: 4},
		{Op: sharestore.ReqImmutableWrite, SI: si, Shnum: 4},
		{Op: sharestore.ReqImmutableClose, SI: si, Shnum: 4},
		{Op: sharestore.ReqTestAndReadAndWrite, SI: si, Shnum: -1},
	}
	if !slices.EqualFunc(log.reqs, want, func(a, b sharestore.Request) bool {
		return a.Op == b.Op && a.SI == b.SI && a.Shnum == b.Shnum
	}) {
		t.Fatalf("requests %+v, want %+v", log.reqs, want)
	}

	// Refused: nothing reaches the store.
	w2, err := ss.WriteImmutable(ctx, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	log.refuse = true
	if err := ss.DeleteShare(ctx, 4, nil); !errors.Is(err, errRefused) {
		t.Fatalf("refused DeleteShare: %v", err)
	}
	if n := log.finished[sharestore.ReqDeleteShare]; n != 0 {
		t.Errorf("a refused DeleteShare was reported done %d times", n)
	}
	if err := ss.PutRaw(ctx, 4, bytes.NewReader(nil), 0); !errors.Is(err, errRefused) {
		t.Fatalf("refused PutRaw: %v", err)
	}
	if err := w2.Write(ctx, 0, []byte("xyz")); !errors.Is(err, errRefused) {
		t.Fatalf("refused Write: %v", err)
	}
	if err := w2.Abort(ctx); !errors.Is(err, errRefused) {
		t.Fatalf("refused Abort: %v, want the hook's error after the abort", err)
	}
	log.refuse = false
	if got, err := inner.Shareset(si).ReadShareData(ctx, 4, 0, 10); err != nil || string(got) != "abc" {
		t.Fatalf("share 4 after a refused delete and put: %q, %v", got, err)
	}
	// The refused writer's Abort went through: shnum 5 is free again.
	w3, err := inner.Shareset(si).WriteImmutable(ctx, 5, 3)
	if err != nil {
		t.Fatalf("shnum 5 is still held after Abort: %v", err)
	}
	w3.Abort(ctx)
}
